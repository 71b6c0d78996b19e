// packetdrill's --so_flags string, parsed: KEY=VALUE words separated by spaces or commas.
using System.Globalization;
using TunStack.Ip;

namespace TunStack.PacketdrillShim;

/// <summary>
/// What the shim is told through <c>--so_flags</c>. Every key has a default, so an empty string
/// works with packetdrill run as <c>--local_ip=192.168.0.1</c> (IPv4) or
/// <c>--local_ip=fd3d:fa7b:d17d::1</c> (IPv6).
/// </summary>
internal sealed class ShimOptions
{
    /// <summary>The stack's IPv4 address and on-link prefix (<c>local_ip=</c> with an IPv4 address; packetdrill's local range is 192.168.0.0/16).</summary>
    public IpPrefix LocalV4 { get; private set; } = IpPrefix.Parse("192.168.0.1/16");

    /// <summary>The stack's IPv6 address and prefix (<c>local_ip=</c> with an IPv6 address; packetdrill's local range is fd3d:fa7b:d17d::/48).</summary>
    public IpPrefix LocalV6 { get; private set; } = IpPrefix.Parse("fd3d:fa7b:d17d::1/48");

    /// <summary>The link MTU (<c>mtu=</c>), packetdrill's --mtu default.</summary>
    public int Mtu { get; private set; } = 1500;

    /// <summary>
    /// How long netdev_receive runs the virtual clock for a packet that does not come
    /// (<c>receive_timeout=SECONDS</c>): then it returns an empty packet and the script fails
    /// instead of hanging.
    /// </summary>
    public TimeSpan ReceiveTimeout { get; private set; } = TimeSpan.FromSeconds(600);

    /// <summary>Seed of the stack's randomness (<c>seed=</c>), so that runs repeat.</summary>
    public int Seed { get; private set; } = 1;

    /// <summary>Every call and its result on stderr (<c>verbose</c>).</summary>
    public bool Verbose { get; private set; }

    /// <summary>Parses <paramref name="flags"/>; an unknown key or a bad value is an error naming it.</summary>
    public static ShimOptions Parse(string? flags)
    {
        var options = new ShimOptions();
        foreach (string word in (flags ?? string.Empty).Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = word.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? word : word[..equals];
            string value = equals < 0 ? string.Empty : word[(equals + 1)..];
            switch (key)
            {
                case "local_ip" when value.Contains(':', StringComparison.Ordinal):
                    options.LocalV6 = WithPrefix(value, 48);
                    break;
                case "local_ip":
                    options.LocalV4 = WithPrefix(value, 16);
                    break;
                case "mtu":
                    options.Mtu = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "receive_timeout":
                    options.ReceiveTimeout = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));
                    break;
                case "seed":
                    options.Seed = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "verbose":
                    options.Verbose = true;
                    break;
                case "assembly":
                    break; // read by the native side: where this assembly is
                default:
                    throw new FormatException($"unknown --so_flags key '{key}' (known: local_ip, mtu, receive_timeout, seed, verbose, assembly)");
            }
        }

        return options;
    }

    private static IpPrefix WithPrefix(string value, int defaultLength)
        => IpPrefix.Parse(value.Contains('/', StringComparison.Ordinal) ? value : value + "/" + defaultLength.ToString(CultureInfo.InvariantCulture));
}
