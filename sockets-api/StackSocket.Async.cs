// Async forms: try once under the gate; if that would block, await the socket's ReadinessSignal
// (a reusable IValueTaskSource) and try again. A call that completes at once allocates nothing; a
// call that waits reuses a pooled state machine (PoolingAsyncValueTaskMethodBuilder).
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using TunStack.Ip;
using TunStack.Sockets.Hosting;

namespace TunStack.Sockets;

public sealed partial class StackSocket
{
    /// <summary>accept(2), awaiting a connection.</summary>
    /// <exception cref="SocketException">InvalidArgument when not listening; OperationNotSupported on a datagram socket; OperationAborted when closed meanwhile.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StackSocket> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ValueTask wait;
            using (StackCall call = Enter())
            {
                StackSocket? accepted = TryAccept(out SocketError error);
                if (accepted is not null)
                {
                    return accepted;
                }

                if (error != SocketError.WouldBlock)
                {
                    throw SocketErrors.Exception(error);
                }

                wait = _readable.ArmAsync(cancellationToken);
            }

            await wait.ConfigureAwait(false);
            ThrowIfClosedWhileWaiting();
        }
    }

    /// <summary>connect(2), awaiting the handshake (whatever <see cref="Blocking"/> says).</summary>
    /// <exception cref="SocketException">As <see cref="Connect"/>.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ConnectAsync(EndPoint remoteEP, CancellationToken cancellationToken = default)
    {
        if (!BeginConnect(remoteEP))
        {
            return;
        }

        await WaitForHandshakeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits for the handshake of a connect in progress (or of a forwarded connection) to end; throws its error.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask WaitForHandshakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ValueTask wait;
            using (StackCall call = Enter())
            {
                if (HandshakeFinished())
                {
                    return;
                }

                wait = _writable.ArmAsync(cancellationToken);
            }

            try
            {
                await wait.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // A cancelled connect abandons the attempt, as closing the socket would.
                using (StackCall call = _runner.Enter())
                {
                    if (_connecting && _connection is not null)
                    {
                        InternetEndpoint abandonedLocal = _connection.Tuple.Local;
                        Unwire(_connection);
                        _connection.Abort();
                        _connection = null;
                        _connecting = false;
                        KeepBindingAfterFailedConnect(abandonedLocal);
                    }
                }

                throw;
            }

            ThrowIfClosedWhileWaiting();
        }
    }

    /// <summary>
    /// recv(2), awaiting data; 0 at end of stream. Completes at once when data is waiting. On a
    /// stream socket an empty <paramref name="buffer"/> waits for readability, as
    /// <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> does on Linux:
    /// it completes with 0 once data, the end of the stream or an error is there, and consumes
    /// nothing, so a receive loop can wait without holding a buffer.
    /// </summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, SocketFlags socketFlags = SocketFlags.None, CancellationToken cancellationToken = default)
    {
        if (_udp is null && (socketFlags & StackSocketFlags.WaitAll) == 0)
        {
            CheckFlags(socketFlags, SupportedReceiveFlags);
            using (StackCall call = Enter())
            {
                int n = TryReceiveStream(buffer.Span, socketFlags, out SocketError error);
                if (error == SocketError.Success)
                {
                    return new ValueTask<int>(n);
                }

                if (error != SocketError.WouldBlock)
                {
                    return ValueTask.FromException<int>(SocketErrors.Exception(error));
                }
            }

            if (buffer.IsEmpty)
            {
                return WaitReadableAsync(cancellationToken);
            }
        }

        return ReceiveSlowAsync(buffer, socketFlags, cancellationToken);
    }

    // A zero-byte receive that found nothing: waits until the socket polls readable (data, end of
    // stream) or in error, then completes with 0 and reads nothing. An error that came meanwhile
    // stays for the next call, as .NET's zero-byte receive completes on the epoll event without
    // calling recv(2).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> WaitReadableAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ValueTask wait;
            using (StackCall call = Enter())
            {
                if ((ReadinessUnderGate() & (PollEvents.Readable | PollEvents.Error | PollEvents.HangUp)) != 0)
                {
                    return 0;
                }

                wait = _readable.ArmAsync(cancellationToken);
            }

            await wait.ConfigureAwait(false);
            ThrowIfClosedWhileWaiting();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveSlowAsync(Memory<byte> buffer, SocketFlags socketFlags, CancellationToken cancellationToken)
    {
        if (_udp is not null)
        {
            SocketReceiveFromResult result = await ReceiveFromAsync(buffer, socketFlags, UnspecifiedEndPoint.Instance, cancellationToken).ConfigureAwait(false);
            return result.ReceivedBytes;
        }

        bool waitAll = (socketFlags & StackSocketFlags.WaitAll) != 0;
        int total = 0;
        while (true)
        {
            ValueTask wait;
            using (StackCall call = Enter())
            {
                while (true)
                {
                    int n = TryReceiveStream(buffer.Span[total..], socketFlags, out SocketError error);
                    total += n;
                    if (error == SocketError.Success && n > 0)
                    {
                        if (!waitAll || total == buffer.Length)
                        {
                            return total;
                        }

                        continue;
                    }

                    if (error != SocketError.WouldBlock)
                    {
                        return total > 0 || error == SocketError.Success ? total : throw SocketErrors.Exception(error);
                    }

                    break;
                }

                wait = _readable.ArmAsync(cancellationToken);
            }

            await wait.ConfigureAwait(false);
            ThrowIfClosedWhileWaiting();
        }
    }

    /// <summary>send(2), awaiting room until every byte is in the send buffer; returns the length.</summary>
    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, SocketFlags socketFlags = SocketFlags.None, CancellationToken cancellationToken = default)
    {
        CheckFlags(socketFlags, SupportedSendFlags);
        if (_udp is not null)
        {
            SocketError error = SendToCore(buffer.Span, null);
            return error == SocketError.Success ? new ValueTask<int>(buffer.Length) : ValueTask.FromException<int>(SocketErrors.Exception(error));
        }

        int total;
        using (StackCall call = Enter())
        {
            total = TrySendStream(buffer.Span, socketFlags, out SocketError error);
            if (total == buffer.Length && error == SocketError.Success)
            {
                return new ValueTask<int>(total);
            }

            if (error is not (SocketError.Success or SocketError.WouldBlock))
            {
                return ValueTask.FromException<int>(SocketErrors.Exception(error));
            }
        }

        return SendSlowAsync(buffer, total, socketFlags, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> SendSlowAsync(ReadOnlyMemory<byte> buffer, int total, SocketFlags socketFlags, CancellationToken cancellationToken)
    {
        while (true)
        {
            ValueTask wait;
            using (StackCall call = Enter())
            {
                while (total < buffer.Length)
                {
                    int n = TrySendStream(buffer.Span[total..], socketFlags, out SocketError error);
                    total += n;
                    if (error is not (SocketError.Success or SocketError.WouldBlock))
                    {
                        throw SocketErrors.Exception(error);
                    }

                    if (n == 0)
                    {
                        break;
                    }
                }

                if (total == buffer.Length)
                {
                    return total;
                }

                wait = _writable.ArmAsync(cancellationToken);
            }

            await wait.ConfigureAwait(false);
            ThrowIfClosedWhileWaiting();
        }
    }

    /// <summary>sendto(2) as a ValueTask (a datagram never waits: it is queued or dropped by the link, as UDP does).</summary>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> buffer, SocketFlags socketFlags, EndPoint remoteEP, CancellationToken cancellationToken = default)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new ValueTask<int>(SendTo(buffer.Span, socketFlags, remoteEP));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    /// <summary>sendto(2) with no flags, as a ValueTask.</summary>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> buffer, EndPoint remoteEP, CancellationToken cancellationToken = default)
        => SendToAsync(buffer, SocketFlags.None, remoteEP, cancellationToken);

    /// <summary>recvfrom(2), awaiting a datagram; the result has the byte count and the sender.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SocketReceiveFromResult> ReceiveFromAsync(Memory<byte> buffer, SocketFlags socketFlags, EndPoint remoteEndPoint, CancellationToken cancellationToken = default)
    {
        CheckFlags(socketFlags, SupportedReceiveFlags);
        if (_udp is null)
        {
            int n = await ReceiveAsync(buffer, socketFlags, cancellationToken).ConfigureAwait(false);
            return new SocketReceiveFromResult { ReceivedBytes = n, RemoteEndPoint = RemoteEndPoint ?? remoteEndPoint };
        }

        while (true)
        {
            ValueTask wait;
            using (StackCall call = Enter())
            {
                int n = TryReceiveDatagram(buffer.Span, socketFlags, out InternetEndpoint from, out _, out SocketError error);
                if (error == SocketError.Success)
                {
                    return new SocketReceiveFromResult { ReceivedBytes = n, RemoteEndPoint = ToEndPoint(from) };
                }

                if (error != SocketError.WouldBlock)
                {
                    throw SocketErrors.Exception(error);
                }

                wait = _readable.ArmAsync(cancellationToken);
            }

            await wait.ConfigureAwait(false);
            ThrowIfClosedWhileWaiting();
        }
    }

    /// <summary>recvfrom(2) with no flags, as a ValueTask.</summary>
    public ValueTask<SocketReceiveFromResult> ReceiveFromAsync(Memory<byte> buffer, EndPoint remoteEndPoint, CancellationToken cancellationToken = default)
        => ReceiveFromAsync(buffer, SocketFlags.None, remoteEndPoint, cancellationToken);
}
