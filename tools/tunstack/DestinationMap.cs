using System.Net;

namespace TunStack.Cli;

/// <summary>
/// Where <c>tunstack forward</c> sends what the namespace asks for: most destinations as they are;
/// the gateway address to the host's loopback (only with --allow-host-loopback, as slirp4netns's
/// 10.0.2.2); the DNS address's port 53 to the host's resolver; the host's loopback and link-local
/// addresses never (a namespace reaching them directly would reach services bound to the host alone).
/// </summary>
public sealed class DestinationMap
{
    private readonly IReadOnlyList<IPAddress> _gateways;
    private readonly IReadOnlyList<IPAddress> _dns;
    private readonly IPAddress? _resolver;
    private readonly bool _allowHostLoopback;

    /// <summary>Maps the gateway and DNS addresses (one per family); <paramref name="resolver"/> null: DNS is refused.</summary>
    public DestinationMap(IReadOnlyList<IPAddress> gateways, IReadOnlyList<IPAddress> dns, IPAddress? resolver, bool allowHostLoopback)
    {
        _gateways = gateways;
        _dns = dns;
        _resolver = resolver;
        _allowHostLoopback = allowHostLoopback;
    }

    /// <summary>The host-side endpoint for <paramref name="destination"/>, or null with why it is refused.</summary>
    public IPEndPoint? Map(IPEndPoint destination, out string? refusal)
    {
        refusal = null;
        IPAddress address = destination.Address;
        if (_gateways.Contains(address))
        {
            if (_allowHostLoopback)
            {
                // The loopback of the gateway's family (127.0.0.1 or ::1).
                return new IPEndPoint(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, destination.Port);
            }

            refusal = "the gateway is the host's loopback only with --allow-host-loopback";
            return null;
        }

        if (_dns.Contains(address))
        {
            if (destination.Port == 53 && _resolver is not null)
            {
                return new IPEndPoint(_resolver, 53);
            }

            refusal = _resolver is null ? "no resolver (none in /etc/resolv.conf and no --dns-upstream)" : "only port 53 of the DNS address is forwarded";
            return null;
        }

        if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || IsV4LinkLocal(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            || IsMulticast(address) || address.Equals(IPAddress.Broadcast))
        {
            refusal = "loopback, link-local, unspecified and group addresses are not forwarded";
            return null;
        }

        return destination;
    }

    /// <summary>The first nameserver of a resolv.conf text, or null.</summary>
    public static IPAddress? ResolverFrom(string resolvConf)
    {
        foreach (string line in resolvConf.Split('\n'))
        {
            string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] == "nameserver" && IPAddress.TryParse(words[1].Split('%')[0], out IPAddress? address))
            {
                return address;
            }
        }

        return null;
    }

    private static bool IsV4LinkLocal(IPAddress address)
        => address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && address.GetAddressBytes() is [169, 254, _, _];

    private static bool IsMulticast(IPAddress address)
        => address.IsIPv6Multicast || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && address.GetAddressBytes()[0] is >= 224 and <= 239);
}
