using TunStack.Ip;

namespace TunStack.Links;

/// <summary>
/// An in-process IP switch for simulations of more than two stacks: each stack gets a port (a link
/// of its own); a packet transmitted on one port is delivered to the port that owns its
/// destination address, as a router with every stack on an interface of its own would. Packets to
/// an address no port owns are counted and dropped. Single-threaded, like <see cref="Simulation"/>.
/// </summary>
internal sealed class MemorySwitch
{
    private readonly List<MemorySwitchPort> _ports = new();

    /// <summary>Packets whose destination no port owns (or that were too short to have one).</summary>
    public long Unroutable { get; private set; }

    /// <summary>Packets dropped because the destination port's queue was full.</summary>
    public long QueueDrops { get; private set; }

    /// <summary>A new port that receives the packets addressed to <paramref name="addresses"/>.</summary>
    public MemorySwitchPort AddPort(IEnumerable<InternetAddress> addresses, int mtu = 1500, int queueCapacity = 4096)
    {
        var port = new MemorySwitchPort(this, addresses, mtu, queueCapacity);
        _ports.Add(port);
        return port;
    }

    /// <summary>Delivers <paramref name="packet"/> (an IPv4 or IPv6 datagram) to the port owning its destination.</summary>
    internal void Forward(ReadOnlySpan<byte> packet)
    {
        InternetAddress destination;
        if (packet.Length >= 20 && packet[0] >> 4 == 4)
        {
            destination = InternetAddress.FromV4(packet.Slice(16, 4)); // RFC 791 3.1: the destination address
        }
        else if (packet.Length >= 40 && packet[0] >> 4 == 6)
        {
            destination = InternetAddress.FromV6(packet.Slice(24, 16)); // RFC 8200 3
        }
        else
        {
            Unroutable++;
            return;
        }

        foreach (MemorySwitchPort port in _ports)
        {
            if (port.Owns(destination))
            {
                if (!port.Deliver(packet))
                {
                    QueueDrops++;
                }

                return;
            }
        }

        Unroutable++;
    }
}
