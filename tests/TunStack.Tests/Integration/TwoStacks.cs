using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Udp;

namespace TunStack.Tests.Integration;

/// <summary>Two stacks joined by a MemoryLink (optionally impaired or captured) on a virtual clock.</summary>
internal sealed class TwoStacks
{
    public static readonly InternetAddress A4 = InternetAddress.Parse("192.168.50.1");
    public static readonly InternetAddress B4 = InternetAddress.Parse("192.168.50.2");
    public static readonly InternetAddress A6 = InternetAddress.Parse("fd50::1");
    public static readonly InternetAddress B6 = InternetAddress.Parse("fd50::2");

    public TwoStacks(int mtu = 1500, Func<ILink, ILink>? wrapA = null, Action<StackOptions>? configure = null, Func<ILink, ILink>? wrapB = null, LinkOffloads offloads = LinkOffloads.None)
    {
        (MemoryLink a, MemoryLink b) = offloads == LinkOffloads.None ? MemoryLink.CreatePair(mtu) : MemoryLink.CreatePairWithOffloads(offloads, mtu, 512);
        Simulation = new Simulation();
        A = Simulation.Add(new NetworkStack(wrapA?.Invoke(a) ?? a, Options("192.168.50.1/24", "fd50::1/64", configure, 1), Simulation.Clock.Now));
        B = Simulation.Add(new NetworkStack(wrapB?.Invoke(b) ?? b, Options("192.168.50.2/24", "fd50::2/64", configure, 2), Simulation.Clock.Now));
    }

    private static StackOptions Options(string v4, string v6, Action<StackOptions>? configure, int seed)
    {
        var o = new StackOptions { RandomSeed = seed };
        o.Addresses.Add(IpPrefix.Parse(v4));
        o.Addresses.Add(IpPrefix.Parse(v6));
        configure?.Invoke(o);
        return o;
    }

    public Simulation Simulation { get; }

    public NetworkStack A { get; }

    public NetworkStack B { get; }

    /// <summary>Starts a UDP echo service on B: every datagram goes back to its sender.</summary>
    public UdpEndpoint StartEchoOnB(ushort port)
    {
        UdpEndpoint echo = B.OpenUdp(AddressFamily.InterNetworkV6);
        Assert.Equal(StackError.None, echo.Bind(new InternetEndpoint(InternetAddress.AnyV6, port)));
        var buffer = new byte[65536];
        echo.Readable = () =>
        {
            while (echo.TryReceiveFrom(buffer, out int n, out _, out InternetEndpoint from))
            {
                Assert.Equal(StackError.None, echo.SendTo(buffer.AsSpan(0, n), from));
            }
        };
        return echo;
    }
}
