using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// The service manager notification protocol of systemd (sd_notify), written here rather than
/// taken from Microsoft.Extensions.Hosting.Systemd, which needs a Generic Host and sends no
/// watchdog pings. When <c>NOTIFY_SOCKET</c> names a socket (a path, or an abstract name starting
/// with '@'), <see cref="Start"/> sends <c>READY=1</c> and a first <c>STATUS=</c>; then a heartbeat
/// of the stack's own loop (<see cref="StackRunner.AddHeartbeat"/>) sends <c>WATCHDOG=1</c> at half
/// of <c>WATCHDOG_USEC</c> (when <c>WATCHDOG_PID</c> is absent or this process) and a fresh
/// <c>STATUS=</c> line every few seconds, so a loop that hangs stops the pings and trips
/// <c>WatchdogSec=</c>. With partitions every loop beats, and the ping goes when the last of them
/// has beaten since the previous one: any one loop that hangs stops the pings. <see cref="Dispose"/> sends <c>STOPPING=1</c>. Every message is one
/// datagram on a unix socket; one that cannot be sent is dropped (systemd is then gone or busy).
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private static readonly byte[] s_watchdog = "WATCHDOG=1"u8.ToArray();
    private readonly Socket _socket;
    private readonly SocketAddress _address;
    private readonly StackPartitions _stack;
    private readonly List<IDisposable> _heartbeats = new();
    private readonly int[] _connections;
    private readonly int[] _timeWait;
    private readonly long _allBeaten;
    private long _beaten;
    private long _lastStatusMicros;
    private long _lastReceived;
    private long _lastSent;
    private bool _disposed;

    private SystemdNotifier(Socket socket, SocketAddress address, StackPartitions stack)
    {
        _socket = socket;
        _address = address;
        _stack = stack;
        _connections = new int[stack.Count];
        _timeWait = new int[stack.Count];
        _allBeaten = (1L << stack.Count) - 1;
    }

    /// <summary>How often the status line is refreshed.</summary>
    public static TimeSpan StatusInterval { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The interval at which WATCHDOG=1 is sent (half of WATCHDOG_USEC), or null when the service has no watchdog for this process.</summary>
    public TimeSpan? WatchdogInterval { get; private init; }

    /// <summary>
    /// If <c>NOTIFY_SOCKET</c> is set in <paramref name="environment"/> (the process's environment
    /// when null), tells systemd the service is ready and starts the watchdog and status beats on
    /// the loop of every partition of <paramref name="stack"/>; otherwise returns null and does nothing. A socket that
    /// cannot be used is logged as a warning and the service runs without notifications.
    /// </summary>
    public static SystemdNotifier? Start(StackPartitions stack, ConsoleLog log, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(log);
        environment ??= Environment.GetEnvironmentVariable;
        string? target = environment("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(target))
        {
            return null;
        }

        Socket socket;
        SocketAddress address;
        try
        {
            // systemd writes an abstract socket's name with a leading '@' for the leading NUL.
            address = new UnixDomainSocketEndPoint(target[0] == '@' ? "\0" + target[1..] : target).Serialize();
            socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
        }
        catch (Exception e) when (e is ArgumentException or SocketException)
        {
            log.Warn($"NOTIFY_SOCKET={target} cannot be used ({e.Message}); systemd gets no notifications");
            return null;
        }

        var notifier = new SystemdNotifier(socket, address, stack) { WatchdogInterval = ReadWatchdog(environment, log) };
        notifier.Send($"READY=1\nSTATUS=ready; {Status(stack.Counters, TimeSpan.Zero, 0, 0)}");
        for (int p = 0; p < stack.Count; p++)
        {
            int partition = p;
            if (notifier.WatchdogInterval is { } interval)
            {
                notifier._heartbeats.Add(stack.Runners[p].AddHeartbeat(interval, _ => notifier.Beat(partition)));
            }

            notifier._heartbeats.Add(stack.Runners[p].AddHeartbeat(StatusInterval, s => notifier.UpdateStatus(partition, s)));
        }

        return notifier;
    }

    /// <summary>Sends one notification (lines of VARIABLE=value); false if it could not be sent.</summary>
    public bool Send(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Send(Encoding.UTF8.GetBytes(state));
    }

    /// <summary>Stops the beats and tells systemd the service is stopping (STOPPING=1).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (IDisposable heartbeat in _heartbeats)
        {
            heartbeat.Dispose();
        }

        Send("STOPPING=1\nSTATUS=stopping");
        _socket.Dispose();
    }

    // WATCHDOG_USEC halved, if the watchdog is meant for this process.
    private static TimeSpan? ReadWatchdog(Func<string, string?> environment, ConsoleLog log)
    {
        string? usec = environment("WATCHDOG_USEC");
        if (string.IsNullOrEmpty(usec))
        {
            return null;
        }

        string? pid = environment("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null; // the watchdog is another process's (a wrapper's, say)
        }

        if (!long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out long micros) || micros <= 0)
        {
            log.Warn($"WATCHDOG_USEC={usec} is not a positive number of microseconds; no watchdog pings are sent");
            return null;
        }

        return TimeSpan.FromTicks(Math.Max(1, micros / 2) * TimeSpan.TicksPerMicrosecond);
    }

    // On a partition's loop: it has beaten; the last of all the partitions to beat since the last ping sends the next.
    private void Beat(int partition)
    {
        long beaten = Interlocked.Or(ref _beaten, 1L << partition) | (1L << partition);
        if (beaten == _allBeaten && Interlocked.CompareExchange(ref _beaten, 0, _allBeaten) == _allBeaten)
        {
            Send(s_watchdog);
        }
    }

    // On a partition's loop, holding its stack: its table sizes; partition 0 then sends the
    // connections of all (the others' as of their last beat) and the rates since the last status.
    private void UpdateStatus(int partition, NetworkStack stack)
    {
        (_connections[partition], _timeWait[partition]) = stack.TcpConnections;
        if (partition != 0)
        {
            return;
        }

        long now = StackRunner.Now.Microseconds;
        TimeSpan elapsed = TimeSpan.FromTicks((now - _lastStatusMicros) * TimeSpan.TicksPerMicrosecond);
        (int connections, int timeWait) = (_connections.Sum(), _timeWait.Sum());
        StackCounters counters = _stack.Counters;
        string rates = _lastStatusMicros == 0 ? string.Empty : Status(counters, elapsed, _lastReceived, _lastSent);
        _lastStatusMicros = now;
        _lastReceived = counters[Counter.LinkReceived];
        _lastSent = counters[Counter.LinkSent];
        Send(string.Create(CultureInfo.InvariantCulture, $"STATUS=tcp connections {connections} ({timeWait} in TIME-WAIT){(rates.Length == 0 ? string.Empty : "; ")}{rates}"));
    }

    // "packets in 120/s, out 118/s, drops 0" over the time since the previous counts.
    private static string Status(StackCounters counters, TimeSpan elapsed, long received, long sent)
    {
        long drops = Enum.GetValues<Counter>().Where(StackMeter.IsDrop).Sum(c => counters[c]);
        if (elapsed <= TimeSpan.Zero)
        {
            return string.Create(CultureInfo.InvariantCulture, $"packets in {counters[Counter.LinkReceived]}, out {counters[Counter.LinkSent]}, dropped {drops}");
        }

        double seconds = elapsed.TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"packets in {(counters[Counter.LinkReceived] - received) / seconds:0}/s, out {(counters[Counter.LinkSent] - sent) / seconds:0}/s, dropped {drops} in all");
    }

    private bool Send(ReadOnlySpan<byte> message)
    {
        try
        {
            return _socket.SendTo(message, SocketFlags.None, _address) == message.Length;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }
}
