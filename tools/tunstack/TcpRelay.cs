using System.Buffers;
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;

namespace TunStack.Cli;

/// <summary>
/// One TCP connection of <c>tunstack forward</c>: dials the destination with a kernel socket first,
/// answers the namespace's SYN by the outcome (accept; a refusal is a reset; no route, no answer or
/// a timeout is ICMP host unreachable, as a router would say; a reset during the handshake is tried
/// again while the connect timeout allows), then copies both ways. Each direction
/// holds one buffer: it reads again only when what it read has been written, so a slow side holds
/// the other back through the windows instead of memory growing. End of stream becomes a half-close
/// on the other side (FIN and shutdown(SHUT_WR) both ways); a reset or error on one side resets the other.
/// </summary>
public static class TcpRelay
{
    private const int BufferSize = 128 * 1024;

    /// <summary>Relays <paramref name="request"/> to <paramref name="target"/> until both directions have ended; never throws.</summary>
    public static async Task RunAsync(ForwardedConnectionRequest request, IPEndPoint target, TimeSpan connectTimeout, ForwardStatistics statistics, ConsoleLog log, Socks5Upstream? upstream = null, TimeSpan idleTimeout = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(log);
        (Socket? dialled, SocketError why) = upstream is null
            ? await DialAsync(target, connectTimeout).ConfigureAwait(false)
            : await DialThroughAsync(upstream, target, connectTimeout).ConfigureAwait(false);
        if (dialled is null)
        {
            // As a router or the destination would answer: a refusal or reset is a reset; no route,
            // no answer or the timeout is ICMP host unreachable.
            if (why is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                request.Reject();
            }
            else
            {
                request.RejectUnreachable();
            }

            statistics.TcpFailed(why);
            log.Debug($"tcp {request.Source} -> {request.Destination}: {target} {why}");
            return;
        }

        using Socket outside = dialled;

        StackSocket inside;
        try
        {
            inside = await request.AcceptAsync().ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            // The client went away (reset, or never sent its ACK) after the destination answered.
            log.Debug($"tcp {request.Source} -> {request.Destination}: the client left during the handshake ({e.SocketErrorCode})");
            return;
        }

        statistics.TcpOpened();
        log.Debug($"tcp {request.Source} -> {request.Destination}: relaying to {target}");
        await PumpAsync(inside, outside, statistics, idleTimeout).ConfigureAwait(false);
        statistics.TcpClosed();
    }

    /// <summary>
    /// Copies both ways between a connection of the stack and a kernel socket until both directions
    /// have ended, carrying half-closes and resets across; disposes <paramref name="inside"/>. Never throws.
    /// </summary>
    public static async Task PumpAsync(StackSocket inside, Socket outside, ForwardStatistics statistics, TimeSpan idleTimeout = default)
    {
        ArgumentNullException.ThrowIfNull(inside);
        ArgumentNullException.ThrowIfNull(outside);
        ArgumentNullException.ThrowIfNull(statistics);
        using (inside)
        {
            // Keepalive both ways (Linux's timings: first probe after 2 h idle), so a peer that
            // vanished without a word ends its relay instead of holding it for ever.
            inside.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            outside.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            long lastActive = Environment.TickCount64;
            Task toOutside = CopyAsync(
                b => inside.ReceiveAsync(b),
                b => outside.SendAsync(b),
                () => outside.Shutdown(SocketShutdown.Send),
                n =>
                {
                    statistics.AddSent(n);
                    Interlocked.Exchange(ref lastActive, Environment.TickCount64);
                });
            Task toInside = CopyAsync(
                b => outside.ReceiveAsync(b),
                b => inside.SendAsync(b),
                () => inside.Shutdown(SocketShutdown.Send),
                n =>
                {
                    statistics.AddReceived(n);
                    Interlocked.Exchange(ref lastActive, Environment.TickCount64);
                });
            using var idle = new CancellationTokenSource();
            Task watch = idleTimeout > TimeSpan.Zero ? WatchIdleAsync(() => Interlocked.Read(ref lastActive), idleTimeout, idle.Token) : Task.Delay(Timeout.Infinite, idle.Token);
            var running = new List<Task> { toOutside, toInside, watch };
            while (!toOutside.IsCompleted || !toInside.IsCompleted)
            {
                Task ended = await Task.WhenAny(running).ConfigureAwait(false);
                if (ended == watch || ended.IsFaulted)
                {
                    // A reset (or error) on one side resets the other, and so does idling past
                    // --tcp-idle-timeout (as a NAT that forgot the flow): linger 0 makes close send RST.
                    Abort(inside, outside);
                    break;
                }

                running.Remove(ended);
            }

            idle.Cancel();
            try
            {
                await Task.WhenAll(toOutside, toInside).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                Abort(inside, outside);
            }
        }
    }

    // Connects within the timeout. A destination that resets the handshake (a listener closed and
    // opened again, a full accept queue) is tried again while time is left: the client has seen
    // nothing yet, its SYN is still waiting for our answer.
    private static async Task<(Socket? Socket, SocketError Why)> DialAsync(IPEndPoint target, TimeSpan connectTimeout)
    {
        using var timeout = new CancellationTokenSource(connectTimeout);
        SocketError why = SocketError.TimedOut;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
                return (socket, SocketError.Success);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                why = e.SocketErrorCode;
                if (why is not (SocketError.ConnectionReset or SocketError.ConnectionAborted))
                {
                    break;
                }
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                return (null, SocketError.TimedOut);
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 << attempt), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (null, SocketError.TimedOut);
            }
        }

        return (null, why);
    }

    private static async Task<(Socket? Socket, SocketError Why)> DialThroughAsync(Socks5Upstream upstream, IPEndPoint target, TimeSpan connectTimeout)
    {
        using var timeout = new CancellationTokenSource(connectTimeout);
        try
        {
            return await upstream.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return (null, SocketError.TimedOut);
        }
    }

    // Completes when nothing has moved either way for the timeout (checked every second or so).
    private static async Task WatchIdleAsync(Func<long> lastActive, TimeSpan timeout, CancellationToken stop)
    {
        while (Environment.TickCount64 - lastActive() < (long)timeout.TotalMilliseconds)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, timeout.TotalMilliseconds / 2)), stop).ConfigureAwait(false);
        }
    }

    private static async Task CopyAsync(Func<Memory<byte>, ValueTask<int>> receive, Func<ReadOnlyMemory<byte>, ValueTask<int>> send, Action endOfStream, Action<int> count)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                int n = await receive(buffer).ConfigureAwait(false);
                if (n == 0)
                {
                    endOfStream();
                    return;
                }

                for (int sent = 0; sent < n;)
                {
                    sent += await send(buffer.AsMemory(sent, n - sent)).ConfigureAwait(false);
                }

                count(n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Abort(StackSocket inside, Socket outside)
    {
        try
        {
            inside.LingerState = new LingerOption(true, 0);
            outside.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed: nothing left to reset.
        }

        inside.Dispose();
        outside.Dispose();
    }
}
