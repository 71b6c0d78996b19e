using System.Globalization;

namespace TunStack.Cli;

/// <summary>
/// What <c>tunstack status</c> prints: the daemon's state as its stack last published it (see
/// <see cref="SummaryPublisher"/>), so that answering never waits for the stack's loop.
/// </summary>
/// <param name="Name">The daemon's control name.</param>
/// <param name="Role">"up" or "forward".</param>
/// <param name="ProcessId">The daemon's PID.</param>
/// <param name="Started">When the daemon started (UTC).</param>
/// <param name="Addresses">The stack's addresses.</param>
/// <param name="TcpConnections">TCP connections not in TIME-WAIT (from SYN-SENT to LAST-ACK).</param>
/// <param name="TimeWait">TCP 4-tuples in TIME-WAIT.</param>
/// <param name="Listeners">Listening TCP sockets.</param>
/// <param name="UdpSockets">Bound UDP sockets.</param>
/// <param name="ReceivedPerSecond">Packets from the link per second over the last interval.</param>
/// <param name="SentPerSecond">Packets to the link per second over the last interval.</param>
/// <param name="Published">When the stack published this (UTC).</param>
public sealed record DaemonSummary(string Name, string Role, int ProcessId, DateTime Started, IReadOnlyList<string> Addresses, int TcpConnections, int TimeWait, int Listeners, int UdpSockets, double ReceivedPerSecond, double SentPerSecond, DateTime Published)
{
    /// <summary>
    /// "tunstack0 (tunstack up, pid 4242): up 1h02m03s; addresses 10.77.0.2/24 fd77::2/64; tcp 3 connected,
    /// 1 in TIME-WAIT, 4 listening; udp 4 sockets; packets in 12.0/s, out 11.0/s".
    /// </summary>
    public string Format(DateTime now)
        => string.Create(CultureInfo.InvariantCulture,
            $"{Name} (tunstack {Role}, pid {ProcessId}): up {Uptime(now - Started)}; addresses {string.Join(' ', Addresses)}; tcp {TcpConnections} connected, {TimeWait} in TIME-WAIT, {Listeners} listening; "
            + $"udp {UdpSockets} sockets; packets in {ReceivedPerSecond:0.0}/s, out {SentPerSecond:0.0}/s{(now - Published > TimeSpan.FromSeconds(5) ? $" (as of {(now - Published).TotalSeconds:0} s ago: the stack has not answered since)" : string.Empty)}");

    /// <summary>"45s", "12m03s", "1h02m03s", "3d04h05m".</summary>
    public static string Uptime(TimeSpan time)
        => time.TotalDays >= 1 ? $"{(int)time.TotalDays}d{time.Hours:00}h{time.Minutes:00}m"
            : time.TotalHours >= 1 ? $"{(int)time.TotalHours}h{time.Minutes:00}m{time.Seconds:00}s"
            : time.TotalMinutes >= 1 ? $"{(int)time.TotalMinutes}m{time.Seconds:00}s"
            : $"{Math.Max(0, (int)time.TotalSeconds)}s";
}
