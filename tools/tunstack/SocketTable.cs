using TunStack.Sockets.Hosting;
using TunStack.Tcp;
using TunStack.Udp;

namespace TunStack.Cli;

/// <summary>
/// The stack's sockets that <c>tunstack ss</c> asked for, copied on the stack's thread into records
/// that are sorted and formatted on another. The stack is single-threaded: every read of a socket
/// runs inside <see cref="StackRunner.InvokeAsync{T}"/>, between two polls, as the SIGUSR1 dump's
/// do. So that a table of 100,000 connections does not hold the loop up for the whole copy, the
/// connections are copied <see cref="SliceSize"/> at a time, the loop running between slices; a
/// connection that ends meanwhile reads Closed and is left out.
/// Order: UDP, then TCP listeners, connections and TIME-WAIT records, each by local then peer endpoint.
/// </summary>
public static class SocketTable
{
    /// <summary>Connections copied per turn on the stack's thread.</summary>
    public const int SliceSize = 1024;

    /// <summary>
    /// Copies the sockets <paramref name="options"/> shows, from every partition of the stack;
    /// tcp_info and memory only when asked for (-i, -m). A listener or an unconnected UDP socket
    /// that every partition opened for one service is one row, its queue the partitions' sum.
    /// </summary>
    public static async Task<IReadOnlyList<SocketEntry>> TakeAsync(StackPartitions partitions, SsOptions options)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        ArgumentNullException.ThrowIfNull(options);
        var rows = new List<SocketEntry>();
        foreach (StackRunner runner in partitions.Runners)
        {
            (List<SocketEntry> tables, IReadOnlyList<TcpConnection> connections) = await runner.InvokeAsync(stack => TakeTables(stack, options)).ConfigureAwait(false);
            rows.AddRange(tables);
            rows.AddRange(await CopyInSlicesAsync(runner, connections, c => options.Shows(SocketEntry.StateName(c.State), c.Tuple.Local, c.Tuple.Remote), c => Connection(c, options, runner.CurrentTime)).ConfigureAwait(false));
        }

        if (partitions.Count > 1)
        {
            rows = rows.GroupBy(r => r.State is SocketEntry.Listen or SocketEntry.Unconnected ? (r.Netid, r.State, r.Local, r.DualStack) : (object)r)
                .Select(g => g.Count() == 1 ? g.First() : g.First() with { ReceiveQueue = g.Sum(r => r.ReceiveQueue) }).ToList();
        }

        return rows.OrderBy(Group).ThenBy(r => r.Local.Address.IsV6).ThenBy(r => r.Local.Address.ToString(), StringComparer.Ordinal).ThenBy(r => r.Local.Port)
            .ThenBy(r => r.Peer?.Address.ToString(), StringComparer.Ordinal).ThenBy(r => r.Peer?.Port).ToList();
    }

    /// <summary>
    /// Copies <paramref name="connections"/> that are not closed and pass <paramref name="keep"/>
    /// as rows, on the stack's thread <see cref="SliceSize"/> at a time with the loop running
    /// between the turns, so a large table never holds the loop up for long.
    /// </summary>
    public static async Task<List<T>> CopyInSlicesAsync<T>(StackRunner runner, IReadOnlyList<TcpConnection> connections, Func<TcpConnection, bool> keep, Func<TcpConnection, T> row)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(connections);
        var rows = new List<T>(connections.Count);
        for (int start = 0; start < connections.Count; start += SliceSize)
        {
            int first = start;
            rows.AddRange(await runner.InvokeAsync(_ => connections.Skip(first).Take(SliceSize)
                .Where(c => c.State != TcpConnectionState.Closed && keep(c))
                .Select(row).ToList()).ConfigureAwait(false));
        }

        return rows;
    }

    // On the stack's thread: UDP, listeners and TIME-WAIT records as rows, and the connections to copy in slices.
    private static (List<SocketEntry> Rows, IReadOnlyList<TcpConnection> Connections) TakeTables(NetworkStack stack, SsOptions options)
    {
        var rows = new List<SocketEntry>();
        if (options.ShowsUdp)
        {
            rows.AddRange(stack.ListUdpEndpoints().Where(u => u.LocalEndpoint is not null && !u.IsClosed).Select(u => Udp(u, options)).Where(r => options.Shows(r.State, r.Local, r.Peer)));
        }

        if (!options.ShowsTcp)
        {
            return (rows, []);
        }

        if (options.ShowsState(SocketEntry.Listen))
        {
            rows.AddRange(stack.ListTcpListeners().Select(l => Listener(l, stack.Options.Tcp, options)).Where(r => options.Filter.Matches(r.Local, r.Peer)));
        }

        if (options.ShowsState(SocketEntry.TimeWait))
        {
            Instant now = stack.Now;
            rows.AddRange(stack.ListTcpTimeWaits().Where(t => options.Filter.Matches(t.Tuple.Local, t.Tuple.Remote)).Select(t => new SocketEntry(
                "tcp", SocketEntry.TimeWait, 0, 0, t.Tuple.Local, t.Tuple.Remote, false,
                options.Info ? new TcpDetails(null, false, false, -1, -1, Left(t.Expires, now)) : null,
                options.Memory ? new SocketMemory(0, 0, 0, 0, 0) : null,
                options.Timers ? new SocketTimer("timewait", Left(t.Expires, now), 0) : null,
                options.Extended ? Extended(null, TcpConnectionState.TimeWait) : null)));
        }

        return (rows, stack.ListTcpConnections());
    }

    // UDP first, then listeners, connections, and TIME-WAIT last, as ss lists them.
    private static int Group(SocketEntry row)
        => row.Netid == "udp" ? 0 : row.State == SocketEntry.Listen ? 1 : row.State == SocketEntry.TimeWait ? 3 : 2;

    private static SocketEntry Udp(UdpEndpoint u, SsOptions options)
        => new("udp", u.RemoteEndpoint is null ? SocketEntry.Unconnected : "ESTAB", u.QueuedBytes, 0, u.LocalEndpoint!.Value, u.RemoteEndpoint,
            u.Family == System.Net.Sockets.AddressFamily.InterNetworkV6 && !u.V6Only, null,
            options.Memory ? new SocketMemory(u.QueuedBytes, u.ReceiveQueueSize, 0, 0, 0) : null,
            null, options.Extended ? Extended(u.Family == System.Net.Sockets.AddressFamily.InterNetworkV6 ? u.V6Only : null, null) : null);

    // A listener's buffer sizes of 0 stand for the stack's defaults, which its connections get.
    private static SocketEntry Listener(TcpAcceptor l, TcpSettings defaults, SsOptions options)
        => new("tcp", SocketEntry.Listen, l.PendingCount, l.Backlog, l.LocalEndpoint, null,
            l.Family == System.Net.Sockets.AddressFamily.InterNetworkV6 && !l.V6Only, null,
            options.Memory ? new SocketMemory(0, l.ReceiveBufferSize > 0 ? l.ReceiveBufferSize : defaults.ReceiveBufferSize, l.SendBufferSize > 0 ? l.SendBufferSize : defaults.SendBufferSize, 0, 0) : null,
            null, options.Extended ? Extended(l.Family == System.Net.Sockets.AddressFamily.InterNetworkV6 ? l.V6Only : null, TcpConnectionState.Listen) : null);

    private static SocketEntry Connection(TcpConnection c, SsOptions options, Instant now)
        => new("tcp", SocketEntry.StateName(c.State), c.Available, c.SendQueued, c.Tuple.Local, c.Tuple.Remote, false,
            options.Info ? new TcpDetails(c.GetInfo(), c.TimestampsEnabled, c.SackEnabled, c.SendWindowScale, c.ReceiveWindowScale, null) : null,
            options.Memory ? new SocketMemory(c.ReceiveMemory, c.ReceiveBufferSize, c.SendBufferSize, c.SendMemory, 0) : null,
            options.Timers ? Timer(c, now) : null,
            options.Extended ? Extended(null, c.State) : null);

    // ss -o: the connection's running timer in ss's names, or null when none that ss shows runs.
    private static SocketTimer? Timer(TcpConnection c, Instant now)
    {
        TcpPendingTimer timer = c.GetPendingTimer(out Instant deadline, out int count);
        string? name = timer switch
        {
            TcpPendingTimer.Retransmit => "on",
            TcpPendingTimer.Persist => "persist",
            TcpPendingTimer.KeepAlive => "keepalive",
            TcpPendingTimer.TimeWait => "timewait",
            _ => null,
        };
        return name is null ? null : new SocketTimer(name, Left(deadline, now), count);
    }

    private static TimeSpan Left(Instant deadline, Instant now)
        => TimeSpan.FromTicks(Math.Max(0, deadline.Microseconds - now.Microseconds) * TimeSpan.TicksPerMicrosecond);

    // ss -e: the daemon's uid (the owner of every socket of the stack), v6only for an IPv6 socket
    // that can say, and for TCP the directions shut down as ss draws them: <-> open both ways, the
    // '<' gone once the peer's FIN came (receive side shut), the '>' gone once ours was queued.
    private static string Extended(bool? v6Only, TcpConnectionState? state)
    {
        var words = new List<string> { string.Create(System.Globalization.CultureInfo.InvariantCulture, $"uid:{ControlPaths.UserId}") };
        if (v6Only is { } only)
        {
            words.Add(only ? "v6only:1" : "v6only:0");
        }

        if (state is { } s)
        {
            bool receiveShut = s is TcpConnectionState.CloseWait or TcpConnectionState.LastAck or TcpConnectionState.Closing or TcpConnectionState.TimeWait;
            bool sendShut = s is TcpConnectionState.FinWait1 or TcpConnectionState.FinWait2 or TcpConnectionState.Closing or TcpConnectionState.LastAck or TcpConnectionState.TimeWait;
            words.Add($"{(receiveShut ? '-' : '<')}-{(sendShut ? '-' : '>')}");
        }

        return string.Join(' ', words);
    }
}
