// send/recv/sendto/recvfrom: one non-blocking attempt under the gate (TrySend/TryReceive...),
// wrapped by the blocking loops here (one for both directions of a stream) and by async loops
// in StackSocket.Async.cs.
using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;

namespace TunStack.Sockets;

public sealed partial class StackSocket
{
    private const int MaxUdpPayload = 65_507;
    private const SocketFlags SupportedReceiveFlags = SocketFlags.Peek | SocketFlags.OutOfBand | StackSocketFlags.WaitAll | StackSocketFlags.DontWait;
    private const SocketFlags SupportedSendFlags = SocketFlags.OutOfBand | SocketFlags.DontRoute | StackSocketFlags.DontWait | StackSocketFlags.EndOfRecord | StackSocketFlags.More;

    /// <summary>send(2) with no flags.</summary>
    public int Send(ReadOnlySpan<byte> buffer) => Send(buffer, SocketFlags.None);

    /// <summary>
    /// send(2). A blocking stream send returns when everything is in the send buffer (or the
    /// SendTimeout passed with part of it); a nonblocking one takes what fits, WouldBlock when
    /// nothing does. OutOfBand sends the last byte as urgent data (MSG_OOB).
    /// </summary>
    /// <exception cref="SocketException">WouldBlock, ConnectionReset (once, after the peer reset),
    /// Shutdown (EPIPE: after shutdown(Send), a reset already reported, or on a socket never connected), NotConnected,
    /// DestinationAddressRequired / MessageSize on a datagram socket.</exception>
    public int Send(ReadOnlySpan<byte> buffer, SocketFlags socketFlags)
        => SocketErrors.ResultOrThrow(Send(buffer, socketFlags, out SocketError error), error);

    /// <summary>send(2) without exceptions: the error (WouldBlock included) comes back in <paramref name="errorCode"/>.</summary>
    public int Send(ReadOnlySpan<byte> buffer, SocketFlags socketFlags, out SocketError errorCode)
    {
        CheckFlags(socketFlags, SupportedSendFlags);
        if (_udp is not null)
        {
            errorCode = SendToCore(buffer, null);
            return errorCode == SocketError.Success ? buffer.Length : 0;
        }

        return TransferStream(sending: true, buffer, default, socketFlags, out errorCode);
    }

    /// <summary>recv(2) with no flags.</summary>
    public int Receive(Span<byte> buffer) => Receive(buffer, SocketFlags.None);

    /// <summary>
    /// recv(2): returns the bytes read, 0 at end of stream. Flags: Peek (MSG_PEEK),
    /// OutOfBand (MSG_OOB: the urgent byte), <see cref="StackSocketFlags.WaitAll"/>,
    /// <see cref="StackSocketFlags.DontWait"/>. A read stops at the out-of-band mark. On a datagram
    /// socket it reads one datagram (truncated to the buffer). On a stream socket an empty
    /// <paramref name="buffer"/> reads nothing but still waits, as recv(2) with length 0 does on
    /// Linux (and .NET's Socket.Receive there): 0 once the socket is readable, WouldBlock when
    /// nonblocking, TimedOut after ReceiveTimeout, and a reset is reported.
    /// </summary>
    /// <exception cref="SocketException">WouldBlock, TimedOut (ReceiveTimeout), ConnectionReset (once),
    /// NotConnected, InvalidArgument (OutOfBand with no urgent byte waiting).</exception>
    public int Receive(Span<byte> buffer, SocketFlags socketFlags)
        => SocketErrors.ResultOrThrow(Receive(buffer, socketFlags, out SocketError error), error);

    /// <summary>recv(2) without exceptions: the error (WouldBlock included) comes back in <paramref name="errorCode"/>.</summary>
    public int Receive(Span<byte> buffer, SocketFlags socketFlags, out SocketError errorCode)
    {
        CheckFlags(socketFlags, SupportedReceiveFlags);
        if (_udp is not null)
        {
            EndPoint from = UnspecifiedEndPoint.Instance;
            SocketFlags flags = socketFlags;
            return ReceiveFromCore(buffer, ref flags, ref from, out errorCode);
        }

        return TransferStream(sending: false, default, buffer, socketFlags, out errorCode);
    }

    /// <summary>sendto(2): one datagram to <paramref name="remoteEP"/> (on a stream socket the address is ignored, as on Linux).</summary>
    /// <exception cref="SocketException">MessageSize (over 65,507 bytes), NetworkUnreachable, AddressFamilyNotSupported.</exception>
    public int SendTo(ReadOnlySpan<byte> buffer, SocketFlags socketFlags, EndPoint remoteEP)
    {
        ArgumentNullException.ThrowIfNull(remoteEP);
        if (_udp is null)
        {
            return Send(buffer, socketFlags);
        }

        CheckFlags(socketFlags, SupportedSendFlags);
        SocketError error = SendToCore(buffer, FromEndPoint(remoteEP));
        return SocketErrors.ResultOrThrow(buffer.Length, error);
    }

    /// <summary>sendto(2) with no flags.</summary>
    public int SendTo(ReadOnlySpan<byte> buffer, EndPoint remoteEP) => SendTo(buffer, SocketFlags.None, remoteEP);

    /// <summary>
    /// recvfrom(2): one datagram and its sender (in <paramref name="remoteEP"/>). A datagram longer
    /// than the buffer is truncated and the rest discarded (see <see cref="ReceiveMessageFrom"/> to
    /// learn that it was).
    /// </summary>
    public int ReceiveFrom(Span<byte> buffer, SocketFlags socketFlags, ref EndPoint remoteEP)
    {
        SocketFlags flags = socketFlags;
        return SocketErrors.ResultOrThrow(ReceiveFromCore(buffer, ref flags, ref remoteEP, out SocketError error), error);
    }

    /// <summary>recvfrom(2) with no flags.</summary>
    public int ReceiveFrom(Span<byte> buffer, ref EndPoint remoteEP) => ReceiveFrom(buffer, SocketFlags.None, ref remoteEP);

    /// <summary>
    /// recvmsg(2) for one datagram: like <see cref="ReceiveFrom(Span{byte}, SocketFlags, ref EndPoint)"/>,
    /// and <paramref name="socketFlags"/> comes back with <see cref="SocketFlags.Truncated"/> (MSG_TRUNC)
    /// when the datagram was longer than the buffer.
    /// </summary>
    public int ReceiveMessageFrom(Span<byte> buffer, ref SocketFlags socketFlags, ref EndPoint remoteEP)
        => SocketErrors.ResultOrThrow(ReceiveFromCore(buffer, ref socketFlags, ref remoteEP, out SocketError error), error);

    private int ReceiveFromCore(Span<byte> buffer, ref SocketFlags socketFlags, ref EndPoint remoteEP, out SocketError errorCode)
    {
        CheckFlags(socketFlags, SupportedReceiveFlags);
        if (_udp is null)
        {
            int n = Receive(buffer, socketFlags, out errorCode);
            if (errorCode == SocketError.Success && RemoteEndPoint is { } peer)
            {
                remoteEP = peer;
            }

            return n;
        }

        bool blocking = MayWait(socketFlags);
        while (true)
        {
            using (StackCall call = Enter())
            {
                int n = TryReceiveDatagram(buffer, socketFlags, out InternetEndpoint from, out bool truncated, out errorCode);
                if (errorCode != SocketError.WouldBlock)
                {
                    if (errorCode == SocketError.Success)
                    {
                        remoteEP = ToEndPoint(from);
                        socketFlags = truncated ? (socketFlags | SocketFlags.Truncated) : (socketFlags & ~SocketFlags.Truncated);
                    }

                    return n;
                }

                if (!blocking)
                {
                    return 0;
                }

                _readable.ArmBlocking();
            }

            errorCode = Wait(_readable, ReceiveTimeout);
            if (errorCode != SocketError.Success)
            {
                return 0;
            }
        }
    }

    private void ConnectDatagram(EndPoint remoteEP)
    {
        if (remoteEP.AddressFamily == AddressFamily.Unspecified)
        {
            using StackCall call = Enter();
            _udp!.Disconnect();
            return;
        }

        InternetEndpoint remote = FromEndPoint(remoteEP);
        using (StackCall call = Enter())
        {
            ThrowIf(_udp!.Connect(remote));
        }
    }

    private SocketError SendToCore(ReadOnlySpan<byte> buffer, InternetEndpoint? remote)
    {
        if (buffer.Length > MaxUdpPayload)
        {
            return SocketError.MessageSize;
        }

        using StackCall call = Enter();
        if (_shutdownSend)
        {
            return SocketError.Shutdown;
        }

        StackError pending = _udp!.TakePendingError();
        if (pending != StackError.None)
        {
            return SocketErrors.ToSocketError(pending);
        }

        return SocketErrors.ToSocketError(_udp.SendTo(buffer, remote));
    }

    // The blocking (or not) loop of send and recv on a stream socket: attempts under the gate
    // until every byte moved (send; recv with MSG_WAITALL) or some did (recv), the call would
    // block, or an error; a blocking call then waits for the direction's readiness (within its
    // timeout) and goes on. The error, or EAGAIN when nonblocking, comes back with what moved.
    private int TransferStream(bool sending, ReadOnlySpan<byte> source, Span<byte> destination, SocketFlags flags, out SocketError errorCode)
    {
        int length = sending ? source.Length : destination.Length;
        bool all = sending || ((flags & StackSocketFlags.WaitAll) != 0 && (flags & (SocketFlags.Peek | SocketFlags.OutOfBand)) == 0);
        bool blocking = MayWait(flags);
        ReadinessSignal signal = sending ? _writable : _readable;
        int total = 0;
        while (true)
        {
            using (StackCall call = Enter())
            {
                while (true)
                {
                    int n = sending ? TrySendStream(source[total..], flags, out errorCode) : TryReceiveStream(destination[total..], flags, out errorCode);
                    total += n;
                    if (errorCode != SocketError.Success || n == 0)
                    {
                        break;
                    }

                    if (!all || total == length)
                    {
                        return total;
                    }
                }

                if (errorCode != SocketError.WouldBlock || !blocking)
                {
                    return ResultOrPartial(total, ref errorCode); // nothing left to move, end of stream, an error, or EAGAIN
                }

                signal.ArmBlocking();
            }

            errorCode = Wait(signal, sending ? SendTimeout : ReceiveTimeout);
            if (errorCode != SocketError.Success)
            {
                return PartialAfterWait(total, ref errorCode);
            }
        }
    }

    // Whether a call may wait: a blocking socket, and no MSG_DONTWAIT.
    private bool MayWait(SocketFlags flags) => Blocking && (flags & StackSocketFlags.DontWait) == 0;

    // ---- one attempt, under the gate -----------------------------------------------------

    private int TrySendStream(ReadOnlySpan<byte> buffer, SocketFlags flags, out SocketError errorCode)
    {
        UpdateConnecting();
        if (_connection is null)
        {
            // Linux sk_stream_wait_connect: a pending error, else EPIPE for a socket that is not
            // connecting (never connected, or listening), not ENOTCONN.
            errorCode = _pendingError != StackError.None ? SocketErrors.ToSocketError(TakePendingError()) : SocketError.Shutdown;
            return 0;
        }

        if (_connection.Error != StackError.None && !_fatalReported)
        {
            // The first call after a reset reports it, even after shutdown(SHUT_WR): Linux's
            // tcp_sendmsg goes to sk_stream_error, which prefers a pending sk_err to EPIPE.
            errorCode = SocketErrors.ToSocketError(_connection.Error);
            _fatalReported = true;
            return 0;
        }

        if (_shutdownSend || _connection.Error != StackError.None)
        {
            errorCode = SocketError.Shutdown; // EPIPE
            return 0;
        }

        if (_connecting)
        {
            errorCode = SocketError.WouldBlock;
            return 0;
        }

        int n;
        StackError error;
        if ((flags & SocketFlags.OutOfBand) != 0 && buffer.Length > 0)
        {
            // MSG_OOB: everything goes, the last byte is the urgent one.
            if (_connection.SendSpace < buffer.Length)
            {
                _sendSpaceWanted = true;
                errorCode = SocketError.WouldBlock;
                return 0;
            }

            n = _connection.Send(buffer[..^1], out error);
            if (error == StackError.None)
            {
                n += _connection.SendUrgent(buffer[^1], out error);
            }
        }
        else
        {
            n = _connection.Send(buffer, out error, endOfRecord: (flags & StackSocketFlags.EndOfRecord) != 0, more: (flags & StackSocketFlags.More) != 0);
        }

        if (error == StackError.Closed || (error == StackError.NotConnected && _connection.State != TcpConnectionState.Closed))
        {
            errorCode = SocketError.Shutdown; // EPIPE: the connection is closing
            return n;
        }

        errorCode = error != StackError.None ? SocketErrors.ToSocketError(error) : n > 0 || buffer.Length == 0 ? SocketError.Success : SocketError.WouldBlock;
        if (n < buffer.Length)
        {
            _sendSpaceWanted = true; // the buffer is full: tell the watchers when an ACK makes room (SOCK_NOSPACE)
        }

        return n;
    }

    private int TryReceiveStream(Span<byte> buffer, SocketFlags flags, out SocketError errorCode)
    {
        UpdateConnecting();
        if (_connection is null)
        {
            errorCode = _pendingError != StackError.None ? SocketErrors.ToSocketError(TakePendingError()) : SocketError.NotConnected;
            return 0;
        }

        if ((flags & SocketFlags.OutOfBand) != 0)
        {
            // An empty buffer takes nothing, as .NET's Socket.Receive does on Linux.
            if (_connection.TryReceiveUrgent(out byte value, (flags & SocketFlags.Peek) != 0 || buffer.IsEmpty))
            {
                errorCode = SocketError.Success;
                if (buffer.IsEmpty)
                {
                    return 0;
                }

                buffer[0] = value;
                return 1;
            }

            errorCode = SocketError.InvalidArgument; // Linux: no urgent byte waiting
            return 0;
        }

        if (_shutdownReceive && _connection.Available == 0
            && (_connection.PeerClosed || _connection.Error == StackError.None || _fatalReported))
        {
            // Linux tcp_recvmsg with RCV_SHUTDOWN: end of file instead of waiting; data the peer
            // sent, before the shutdown or after it, is still read first. A reset not yet
            // reported comes before it (sk_err is checked first), unless the FIN came before.
            errorCode = SocketError.Success;
            return 0;
        }

        if (buffer.IsEmpty && _connection.Available > 0)
        {
            errorCode = SocketError.Success; // readable: a zero-byte read returns 0 and takes nothing (tcp_recvmsg with len 0)
            return 0;
        }

        int n = _connection.Receive(buffer, out StackError error, (flags & SocketFlags.Peek) != 0);
        if (n > 0)
        {
            errorCode = SocketError.Success;
            return n;
        }

        if (error is StackError.None)
        {
            errorCode = SocketError.Success; // end of stream
            return 0;
        }

        if (error == StackError.WouldBlock)
        {
            errorCode = SocketError.WouldBlock;
            return 0;
        }

        if (error == StackError.NotConnected)
        {
            errorCode = _accepted || _connection.State == TcpConnectionState.Closed ? SocketError.Success : SocketError.NotConnected;
            return 0;
        }

        // A fatal error is reported once; then reads see end of stream, as on Linux.
        errorCode = _fatalReported ? SocketError.Success : SocketErrors.ToSocketError(error);
        _fatalReported = true;
        return 0;
    }

    private int TryReceiveDatagram(Span<byte> buffer, SocketFlags flags, out InternetEndpoint from, out bool truncated, out SocketError errorCode)
    {
        from = default;
        truncated = false;
        StackError pending = _udp!.TakePendingError();
        if (pending != StackError.None)
        {
            errorCode = SocketErrors.ToSocketError(pending);
            return 0;
        }

        if (_shutdownReceive && _udp.QueuedDatagrams == 0)
        {
            errorCode = SocketError.Success;
            return 0;
        }

        if (_udp.TryReceiveFrom(buffer, out int copied, out int length, out from, (flags & SocketFlags.Peek) != 0))
        {
            truncated = length > copied;
            errorCode = SocketError.Success;
            return copied;
        }

        errorCode = SocketError.WouldBlock;
        return 0;
    }

    // A blocking call whose wait ended without readiness: part of the data moved before a timeout
    // is a success (SO_RCVTIMEO/SO_SNDTIMEO as Linux); a close is reported whatever moved.
    private static int PartialAfterWait(int total, ref SocketError errorCode)
    {
        if (errorCode == SocketError.TimedOut && total > 0)
        {
            errorCode = SocketError.Success;
        }

        return total;
    }

    private static int ResultOrPartial(int total, ref SocketError errorCode)
    {
        if (total > 0 && errorCode != SocketError.Success)
        {
            // Part of the data went (or came): report it; the error shows on the next call.
            errorCode = SocketError.Success;
        }

        return total;
    }

    private static void CheckFlags(SocketFlags flags, SocketFlags supported)
    {
        if ((flags & ~supported) != 0)
        {
            throw SocketErrors.Exception(SocketError.OperationNotSupported);
        }
    }
}
