using System.Globalization;
using System.Net.Sockets;
using TunStack.Lab;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;

namespace TunStack.Cli;

/// <summary>
/// The daemon's side of <c>tunstack trace</c>: the control request <c>trace CONN INTERVAL_MS COUNT</c>
/// finds the one TCP connection CONN names (its local endpoint, its peer's, or both as LOCAL-PEER)
/// and streams its state as CSV (<see cref="ConnectionTraceFormat"/>): "ok stream", the header, a
/// line every INTERVAL_MS of the stack's clock, then "end REASON" when COUNT lines were sent
/// (0: no limit) or the connection is gone. Each sample is taken on the stack's thread.
/// </summary>
internal static class ConnectionTraceStream
{
    /// <summary>The shortest interval a client may ask for.</summary>
    public const int MinIntervalMilliseconds = 1;

    /// <summary>Parses the request's words after "trace"; the reason when they are not CONN INTERVAL_MS COUNT.</summary>
    public static string? Parse(IReadOnlyList<string> words, out string selector, out int intervalMilliseconds, out int count)
    {
        selector = string.Empty;
        intervalMilliseconds = 0;
        count = 0;
        if (words.Count != 3)
        {
            return "trace: the request is 'trace CONN INTERVAL_MS COUNT'";
        }

        selector = words[0];
        if (!int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out intervalMilliseconds) || intervalMilliseconds < MinIntervalMilliseconds)
        {
            return $"trace: the interval is a whole number of milliseconds, at least {MinIntervalMilliseconds}, not '{words[1]}'";
        }

        if (!int.TryParse(words[2], NumberStyles.None, CultureInfo.InvariantCulture, out count))
        {
            return $"trace: the count is a whole number (0: until the connection ends), not '{words[2]}'";
        }

        return null;
    }

    /// <summary>Finds the connection on each partition's thread, and the runner of the partition that holds it; the reason when none or several match.</summary>
    public static async Task<(StackRunner? Owner, TcpConnection? Connection, string? Problem)> FindAsync(StackPartitions partitions, string selector)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        List<TcpConnection>[] found = await partitions.InvokeEachAsync(stack => stack.ListTcpConnections()
            .Where(c => c.State != TcpConnectionState.Closed && Matches(c.Tuple, selector)).ToList()).ConfigureAwait(false);
        List<(StackRunner Runner, TcpConnection Connection)> matches = found.SelectMany((list, p) => list.Select(c => (partitions.Runners[p], c))).ToList();
        return matches.Count switch
        {
            0 => (null, null, $"trace: no TCP connection matches '{selector}' (name its local or peer endpoint as tunstack ss -t shows it, or LOCAL-PEER)"),
            1 => (matches[0].Runner, matches[0].Connection, null),
            _ => (null, null, $"trace: {matches.Count} connections match '{selector}': {string.Join(", ", matches.Take(5).Select(m => $"{m.Connection.Tuple.Local}-{m.Connection.Tuple.Remote}"))}{(matches.Count > 5 ? ", ..." : string.Empty)}; name one as LOCAL-PEER"),
        };
    }

    /// <summary>True when <paramref name="selector"/> names this connection.</summary>
    public static bool Matches(TcpTuple tuple, string selector)
    {
        string local = tuple.Local.ToString();
        string remote = tuple.Remote.ToString();
        return selector == local || selector == remote || selector == $"{local}-{remote}";
    }

    /// <summary>Streams the trace to <paramref name="client"/> until the count, the connection's end, the client leaving or <paramref name="stopping"/>.</summary>
    public static async Task RunAsync(Socket client, StackRunner runner, TcpConnection connection, int intervalMilliseconds, int count, CancellationToken stopping)
    {
        await ControlServer.SendAsync(client, "ok stream\n" + ConnectionTraceFormat.Header + "\n", stopping).ConfigureAwait(false);
        Instant start = await runner.InvokeAsync(stack => stack.Now).ConfigureAwait(false);
        var interval = TimeSpan.FromMilliseconds(intervalMilliseconds);
        string reason = "count reached";
        for (int sent = 0; count == 0 || sent < count; sent++)
        {
            (TimeSpan time, TcpConnectionInfo info) = await runner.InvokeAsync(stack => (stack.Now - start, connection.GetInfo())).ConfigureAwait(false);
            await ControlServer.SendAsync(client, ConnectionTraceFormat.Format(time, info) + "\n", stopping).ConfigureAwait(false);
            if (info.State is TcpConnectionState.Closed or TcpConnectionState.TimeWait)
            {
                reason = $"the connection is {info.State}";
                break;
            }

            await Task.Delay(interval, stopping).ConfigureAwait(false);
        }

        await ControlServer.SendAsync(client, $"end {reason}\n", stopping).ConfigureAwait(false);
    }
}
