using TunStack.Tcp;
using TunStack.Udp;

namespace TunStack.Cli;

/// <summary>
/// The stack's sockets that <c>tunstack ss</c> asked for, copied on the stack's thread (the stack
/// is single-threaded: <see cref="Take"/> runs inside <c>StackRunner.InvokeAsync</c>, between two
/// polls, as the SIGUSR1 dump does) into records that are formatted on another thread.
/// Order: UDP, then TCP listeners, connections and TIME-WAIT records, each by local then peer endpoint.
/// </summary>
public static class SocketTable
{
    /// <summary>Copies the sockets <paramref name="options"/> shows; tcp_info and memory only when asked for (-i, -m).</summary>
    public static IReadOnlyList<SocketEntry> Take(NetworkStack stack, SsOptions options)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(options);
        var rows = new List<SocketEntry>();
        if (options.ShowsUdp)
        {
            rows.AddRange(Sorted(stack.ListUdpEndpoints().Where(u => u.LocalEndpoint is not null && !u.IsClosed).Select(u => Udp(u, options)).Where(r => options.ShowsState(r.State))));
        }

        if (options.ShowsTcp)
        {
            if (options.ShowsState(SocketEntry.Listen))
            {
                rows.AddRange(Sorted(stack.ListTcpListeners().Select(l => Listener(l, stack.Options.Tcp, options))));
            }

            rows.AddRange(Sorted(stack.ListTcpConnections()
                .Where(c => c.State != TcpConnectionState.Closed && options.ShowsState(SocketEntry.StateName(c.State)))
                .Select(c => Connection(c, options))));
            if (options.ShowsState(SocketEntry.TimeWait))
            {
                Instant now = stack.Now;
                rows.AddRange(Sorted(stack.ListTcpTimeWaits().Select(t => new SocketEntry(
                    "tcp", SocketEntry.TimeWait, 0, 0, t.Tuple.Local, t.Tuple.Remote, false,
                    options.Info ? new TcpDetails(null, false, false, -1, -1, TimeSpan.FromTicks(Math.Max(0, t.Expires.Microseconds - now.Microseconds) * TimeSpan.TicksPerMicrosecond)) : null,
                    options.Memory ? new SocketMemory(0, 0, 0, 0, 0) : null))));
            }
        }

        return rows;
    }

    private static IEnumerable<SocketEntry> Sorted(IEnumerable<SocketEntry> rows)
        => rows.OrderBy(r => r.Local.Address.IsV6).ThenBy(r => r.Local.Address.ToString(), StringComparer.Ordinal).ThenBy(r => r.Local.Port)
            .ThenBy(r => r.Peer?.Address.ToString(), StringComparer.Ordinal).ThenBy(r => r.Peer?.Port);

    private static SocketEntry Udp(UdpEndpoint u, SsOptions options)
        => new("udp", u.RemoteEndpoint is null ? SocketEntry.Unconnected : "ESTAB", u.QueuedBytes, 0, u.LocalEndpoint!.Value, u.RemoteEndpoint,
            u.Family == System.Net.Sockets.AddressFamily.InterNetworkV6 && !u.V6Only, null,
            options.Memory ? new SocketMemory(u.QueuedBytes, u.ReceiveQueueSize, 0, 0, 0) : null);

    // A listener's buffer sizes of 0 stand for the stack's defaults, which its connections get.
    private static SocketEntry Listener(TcpAcceptor l, TcpSettings defaults, SsOptions options)
        => new("tcp", SocketEntry.Listen, l.PendingCount, l.Backlog, l.LocalEndpoint, null,
            l.Family == System.Net.Sockets.AddressFamily.InterNetworkV6 && !l.V6Only, null,
            options.Memory ? new SocketMemory(0, l.ReceiveBufferSize > 0 ? l.ReceiveBufferSize : defaults.ReceiveBufferSize, l.SendBufferSize > 0 ? l.SendBufferSize : defaults.SendBufferSize, 0, 0) : null);

    private static SocketEntry Connection(TcpConnection c, SsOptions options)
        => new("tcp", SocketEntry.StateName(c.State), c.Available, c.SendQueued, c.Tuple.Local, c.Tuple.Remote, false,
            options.Info ? new TcpDetails(c.GetInfo(), c.TimestampsEnabled, c.SackEnabled, c.SendWindowScale, c.ReceiveWindowScale, null) : null,
            options.Memory ? new SocketMemory(c.ReceiveMemory, c.ReceiveBufferSize, c.SendBufferSize, c.SendMemory, 0) : null);
}
