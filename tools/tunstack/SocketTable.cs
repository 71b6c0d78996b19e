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

    /// <summary>Copies the sockets <paramref name="options"/> shows; tcp_info and memory only when asked for (-i, -m).</summary>
    public static async Task<IReadOnlyList<SocketEntry>> TakeAsync(StackRunner runner, SsOptions options)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(options);
        (List<SocketEntry> rows, IReadOnlyList<TcpConnection> connections) = await runner.InvokeAsync(stack => TakeTables(stack, options)).ConfigureAwait(false);
        rows.AddRange(await CopyInSlicesAsync(runner, connections, c => options.ShowsState(SocketEntry.StateName(c.State)), c => Connection(c, options)).ConfigureAwait(false));

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
            rows.AddRange(stack.ListUdpEndpoints().Where(u => u.LocalEndpoint is not null && !u.IsClosed).Select(u => Udp(u, options)).Where(r => options.ShowsState(r.State)));
        }

        if (!options.ShowsTcp)
        {
            return (rows, []);
        }

        if (options.ShowsState(SocketEntry.Listen))
        {
            rows.AddRange(stack.ListTcpListeners().Select(l => Listener(l, stack.Options.Tcp, options)));
        }

        if (options.ShowsState(SocketEntry.TimeWait))
        {
            Instant now = stack.Now;
            rows.AddRange(stack.ListTcpTimeWaits().Select(t => new SocketEntry(
                "tcp", SocketEntry.TimeWait, 0, 0, t.Tuple.Local, t.Tuple.Remote, false,
                options.Info ? new TcpDetails(null, false, false, -1, -1, TimeSpan.FromTicks(Math.Max(0, t.Expires.Microseconds - now.Microseconds) * TimeSpan.TicksPerMicrosecond)) : null,
                options.Memory ? new SocketMemory(0, 0, 0, 0, 0) : null)));
        }

        return (rows, stack.ListTcpConnections());
    }

    // UDP first, then listeners, connections, and TIME-WAIT last, as ss lists them.
    private static int Group(SocketEntry row)
        => row.Netid == "udp" ? 0 : row.State == SocketEntry.Listen ? 1 : row.State == SocketEntry.TimeWait ? 3 : 2;

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
