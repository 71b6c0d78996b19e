using System.Globalization;
using System.Text;
using TunStack.Ip;
using TunStack.Tcp;

namespace TunStack.Cli;

/// <summary>
/// The built-in TCP services, run on the stack's thread: echo (RFC 862) returns everything,
/// discard (RFC 863) reads and drops, chargen (RFC 864) sends the rotating character pattern until
/// the client closes, daytime (RFC 867) sends the date and closes.
/// </summary>
public sealed class TcpServices
{
    private static readonly byte[] s_chargen = BuildChargen();
    // Per service: connections, bytes in, bytes out. A connection's callbacks hold its service's
    // array, so counting costs no lookup by name on the data path.
    private readonly Dictionary<string, long[]> _statistics = new();
    private readonly List<(ServiceSpec Spec, TcpAcceptor Listener)> _listeners = new();
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly ConsoleLog _log;

    private TcpServices(ConsoleLog log) => _log = log;

    /// <summary>Listens for every service (dual-stack, all addresses); call on the stack's thread.</summary>
    public static TcpServices Start(NetworkStack stack, IEnumerable<ServiceSpec> specs, ConsoleLog log)
    {
        var services = new TcpServices(log);
        services.Apply(stack, specs);
        return services;
    }

    /// <summary>
    /// Makes the listeners match <paramref name="specs"/> (a reload): closes those no longer
    /// wanted, opens the new ones, leaves the rest and every accepted connection alone; call on
    /// the stack's thread. Throws <see cref="InvalidOperationException"/> naming a port that cannot be had.
    /// </summary>
    public void Apply(NetworkStack stack, IEnumerable<ServiceSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var wanted = specs.Where(s => !ServiceSpec.IsHttp(s.Name)).ToList();
        foreach ((ServiceSpec spec, TcpAcceptor listener) in _listeners.Where(l => !wanted.Contains(l.Spec)).ToList())
        {
            listener.Close();
            _listeners.Remove((spec, listener));
        }

        foreach (ServiceSpec spec in wanted.Where(w => !_listeners.Any(l => l.Spec == w)))
        {
            TcpAcceptor listener = stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV6, spec.Port), 4096, out StackError error)
                ?? throw new InvalidOperationException($"cannot listen on tcp {spec.Name} port {spec.Port}: {error}");
            _statistics.TryAdd(spec.Name, new long[3]);
            listener.Readable = () => Accept(spec, listener);
            _listeners.Add((spec, listener));
        }
    }

    /// <summary>"echo:7 discard:9 ...", or "none".</summary>
    public string Describe() => _listeners.Count == 0 ? "none" : string.Join(' ', _listeners.Select(l => $"{l.Spec.Name}:{l.Spec.Port}"));

    /// <summary>A copy of the per-service totals (call on the stack's thread), for <see cref="Statistics(IEnumerable{IReadOnlyList{ValueTuple{string, long, long, long}}})"/>.</summary>
    public IReadOnlyList<(string Name, long Connections, long BytesIn, long BytesOut)> Totals()
        => _statistics.Select(s => (s.Key, s.Value[0], s.Value[1], s.Value[2])).ToList();

    /// <summary>"tcp echo 3 connections 120 bytes in 120 bytes out" per service, summed over the partitions' <see cref="Totals"/>.</summary>
    public static IEnumerable<string> Statistics(IEnumerable<IReadOnlyList<(string Name, long Connections, long BytesIn, long BytesOut)>> partitions)
        => partitions.SelectMany(p => p).GroupBy(t => t.Name)
            .Select(g => $"tcp {g.Key} {g.Sum(t => t.Connections)} connections {g.Sum(t => t.BytesIn)} bytes in {g.Sum(t => t.BytesOut)} bytes out");

    private static void Count(long[] tally, long connections, long bytesIn, long bytesOut)
    {
        tally[0] += connections;
        tally[1] += bytesIn;
        tally[2] += bytesOut;
    }

    private void Accept(ServiceSpec spec, TcpAcceptor listener)
    {
        while (listener.TryAccept(out TcpConnection? connection))
        {
            TcpConnection c = connection!;
            long[] tally = _statistics[spec.Name];
            Count(tally, 1, 0, 0);
            if (_log.IsDebug)
            {
                _log.Debug($"tcp {spec.Name}: connection from {c.Tuple.Remote}");
            }

            switch (spec.Name)
            {
                case "echo":
                    c.Readable = () => Echo(c, tally);
                    c.Writable = () => Echo(c, tally);
                    Echo(c, tally);
                    break;
                case "discard":
                    c.Readable = () => Discard(c, tally);
                    Discard(c, tally);
                    break;
                case "chargen":
                    int position = 0;
                    c.Writable = () => position = Chargen(c, position, tally);
                    c.Readable = () => Discard(c, tally);
                    position = Chargen(c, position, tally);
                    break;
                default:
                    byte[] now = Encoding.ASCII.GetBytes(DateTime.UtcNow.ToString("dddd, MMMM d, yyyy HH:mm:ss-'UTC'", CultureInfo.InvariantCulture) + "\r\n");
                    c.Send(now, out _);
                    Count(tally, 0, 0, now.Length);
                    c.Readable = () => Discard(c, tally);
                    c.Close();
                    break;
            }
        }
    }

    // Reads only what the send buffer can take back, so nothing is ever held here.
    private void Echo(TcpConnection c, long[] tally)
    {
        while (true)
        {
            int room = Math.Min(_buffer.Length, c.SendSpace);
            if (room == 0)
            {
                return;
            }

            int n = c.Receive(_buffer.AsSpan(0, room), out StackError error);
            if (n > 0)
            {
                c.Send(_buffer.AsSpan(0, n), out _);
                Count(tally, 0, n, n);
                continue;
            }

            if (error == StackError.None)
            {
                // The client closed and everything read was echoed: nothing more to do here.
                if (_log.IsDebug)
                {
                    _log.Debug($"tcp echo: {c.Tuple.Remote} done: {c.GetInfo()}");
                }

                c.Readable = null;
                c.Writable = null;
                c.Close();
            }

            return;
        }
    }

    private void Discard(TcpConnection c, long[] tally)
    {
        int n;
        StackError error;
        while ((n = c.Receive(_buffer, out error)) > 0)
        {
            Count(tally, 0, n, 0);
        }

        if (error == StackError.None)
        {
            c.Close();
        }
    }

    private static int Chargen(TcpConnection c, int position, long[] tally)
    {
        if (c.State is not (TcpConnectionState.Established or TcpConnectionState.CloseWait))
        {
            return position;
        }

        while (c.SendSpace > 0)
        {
            int n = c.Send(s_chargen.AsSpan(position, Math.Min(c.SendSpace, s_chargen.Length / 2)), out StackError error);
            if (n == 0 || error != StackError.None)
            {
                break;
            }

            Count(tally, 0, 0, n);
            position = (position + n) % (s_chargen.Length / 2);
        }

        return position;
    }

    // RFC 864: lines of 72 printable characters, each starting one character later. Twice the
    // period so that any window of half the array is contiguous text.
    private static byte[] BuildChargen()
    {
        var one = new List<byte>();
        for (int line = 0; line < 95; line++)
        {
            for (int i = 0; i < 72; i++)
            {
                one.Add((byte)(' ' + (line + i) % 95));
            }

            one.Add((byte)'\r');
            one.Add((byte)'\n');
        }

        return one.Concat(one).ToArray();
    }
}
