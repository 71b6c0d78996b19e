using System.Globalization;
using System.Net.Sockets;
using System.Text;
using TunStack.Ip;
using TunStack.Udp;

namespace TunStack.Cli;

/// <summary>
/// The built-in UDP services, run on the stack's thread: echo (RFC 862) returns each datagram,
/// discard (RFC 863) counts and drops, daytime (RFC 867) answers with the date, chargen (RFC 864)
/// answers with 0-512 characters of the rotating pattern.
/// </summary>
public sealed class UdpServices
{
    private static readonly byte[] s_pattern = Enumerable.Range(0, 95 * 2).Select(i => (byte)(' ' + i % 95)).ToArray();
    private readonly List<(ServiceSpec Spec, UdpEndpoint Endpoint)> _endpoints = new();
    private readonly Dictionary<string, (long Datagrams, long Bytes)> _statistics = new();
    private readonly byte[] _buffer = new byte[65536];
    private readonly Random _random = new();
    private readonly ConsoleLog _log;

    private UdpServices(ConsoleLog log) => _log = log;

    /// <summary>Binds every service (dual-stack, all addresses); call on the stack's thread.</summary>
    public static UdpServices Start(NetworkStack stack, IEnumerable<ServiceSpec> specs, ConsoleLog log)
    {
        var services = new UdpServices(log);
        services.Apply(stack, specs);
        return services;
    }

    /// <summary>
    /// Makes the endpoints match <paramref name="specs"/> (a reload): closes those no longer
    /// wanted, binds the new ones, leaves the rest; call on the stack's thread. Throws
    /// <see cref="InvalidOperationException"/> naming a port that cannot be had.
    /// </summary>
    public void Apply(NetworkStack stack, IEnumerable<ServiceSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var wanted = specs.Where(s => !ServiceSpec.IsHttp(s.Name)).ToList();
        foreach ((ServiceSpec spec, UdpEndpoint endpoint) in _endpoints.Where(e => !wanted.Contains(e.Spec)).ToList())
        {
            endpoint.Close();
            _endpoints.Remove((spec, endpoint));
        }

        foreach (ServiceSpec spec in wanted.Where(w => !_endpoints.Any(e => e.Spec == w)))
        {
            UdpEndpoint endpoint = stack.OpenUdp(AddressFamily.InterNetworkV6);
            StackError error = endpoint.Bind(new InternetEndpoint(InternetAddress.AnyV6, spec.Port));
            if (error != StackError.None)
            {
                endpoint.Close();
                throw new InvalidOperationException($"cannot bind udp {spec.Name} on port {spec.Port}: {error}");
            }

            _statistics.TryAdd(spec.Name, (0, 0));
            endpoint.Readable = () => Serve(spec, endpoint);
            _endpoints.Add((spec, endpoint));
        }
    }

    /// <summary>"echo:7 discard:9 ...", or "none".</summary>
    public string Describe() => _endpoints.Count == 0 ? "none" : string.Join(' ', _endpoints.Select(e => $"{e.Spec.Name}:{e.Spec.Port}"));

    /// <summary>A copy of the per-service totals (call on the stack's thread), for <see cref="Statistics(IEnumerable{IReadOnlyList{ValueTuple{string, long, long}}})"/>.</summary>
    public IReadOnlyList<(string Name, long Datagrams, long Bytes)> Totals() => _statistics.Select(s => (s.Key, s.Value.Datagrams, s.Value.Bytes)).ToList();

    /// <summary>"udp discard 3 datagrams 120 bytes" per service, summed over the partitions' <see cref="Totals"/>.</summary>
    public static IEnumerable<string> Statistics(IEnumerable<IReadOnlyList<(string Name, long Datagrams, long Bytes)>> partitions)
        => partitions.SelectMany(p => p).GroupBy(t => t.Name).Select(g => $"udp {g.Key} {g.Sum(t => t.Datagrams)} datagrams {g.Sum(t => t.Bytes)} bytes");

    private void Serve(ServiceSpec spec, UdpEndpoint endpoint)
    {
        while (endpoint.TryReceiveFrom(_buffer, out int n, out _, out InternetEndpoint from))
        {
            (long d, long b) = _statistics[spec.Name];
            _statistics[spec.Name] = (d + 1, b + n);
            _log.Debug($"udp {spec.Name}: {n} bytes from {from}");
            switch (spec.Name)
            {
                case "echo":
                    endpoint.SendTo(_buffer.AsSpan(0, n), from);
                    break;
                case "daytime":
                    string now = DateTime.UtcNow.ToString("dddd, MMMM d, yyyy HH:mm:ss-'UTC'", CultureInfo.InvariantCulture) + "\r\n";
                    endpoint.SendTo(Encoding.ASCII.GetBytes(now), from);
                    break;
                case "chargen":
                    int length = _random.Next(0, 513);
                    int start = _random.Next(95);
                    int written = 0;
                    while (written < length)
                    {
                        int line = Math.Min(72, length - written);
                        s_pattern.AsSpan(start, line).CopyTo(_buffer.AsSpan(written));
                        written += line;
                        start = (start + 1) % 95;
                    }

                    endpoint.SendTo(_buffer.AsSpan(0, length), from);
                    break;
                default:
                    break; // discard
            }
        }
    }
}
