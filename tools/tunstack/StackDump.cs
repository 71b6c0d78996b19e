using System.Globalization;
using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>The state of a running stack as log lines: its counters and its TCP connections (SIGUSR1, and at the end of a run).</summary>
public static class StackDump
{
    /// <summary>"counters: Name=1 Other=2", or "counters: none yet" when nothing was counted.</summary>
    public static string Counters(IReadOnlyDictionary<string, long> counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        return counters.Count == 0 ? "counters: none yet" : $"counters: {string.Join(' ', counters.Select(kv => $"{kv.Key}={kv.Value}"))}";
    }

    /// <summary>The counters line (summed over the partitions), a connection-count line, and one line per TCP connection.</summary>
    public static IEnumerable<string> Lines(StackPartitions stack) => Entries(stack).Select(entry => entry.Message);

    /// <summary>
    /// <see cref="Lines"/> with the same facts as fields for a structured log (<c>--log-format json</c>):
    /// <c>counters</c> (name to value), <c>tcpConnections</c> and <c>timeWait</c>, and per connection
    /// a <c>connection</c> object (local, remote, state, unread bytes, srtt, rto, cwnd, recovery).
    /// </summary>
    public static IEnumerable<(string Message, KeyValuePair<string, object?>[] Fields)> Entries(StackPartitions stack)
    {
        HttpService.Statistics s = HttpService.Statistics.Take(stack);
        yield return (Counters(s.Counters), [new("counters", s.Counters)]);
        yield return ($"tcp connections: {s.Connections.Count} ({s.TimeWait} in TIME-WAIT)", [new("tcpConnections", s.Connections.Count), new("timeWait", s.TimeWait)]);
        foreach (HttpService.ConnectionRow c in s.Connections)
        {
            yield return (string.Create(CultureInfo.InvariantCulture,
                $"tcp {c.Local} to {c.Remote}: {c.State}, {c.Unread} bytes unread, srtt {c.SrttMs:0.###} ms, rto {c.RtoMs:0} ms, cwnd {c.Cwnd} bytes{(c.InRecovery ? ", in recovery" : string.Empty)}"),
                [new("connection", c)]);
        }
    }
}
