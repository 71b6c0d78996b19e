using TunStack.Ip;
using TunStack.Ports;

namespace TunStack.Tests.Ports;

/// <summary>RFC 6056 ephemeral port selection with most of the range taken by one destination.</summary>
public class EphemeralPortTests
{
    private static readonly InternetAddress Source = InternetAddress.Parse("10.0.0.2");
    private static readonly InternetEndpoint Remote = new(InternetAddress.Parse("10.0.0.1"), 80);

    private static (PortTable Ports, HashSet<ushort> Used) FullRange(int inUse, out StackOptions options)
    {
        options = new StackOptions { RandomSeed = 7, EphemeralPortFirst = 1024, EphemeralPortLast = 65535 };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        var ports = new PortTable(new AddressTable(new StackCounters(), options), options, new Random(7));
        var used = new HashSet<ushort>();

        // Taken in order, as a client opening connections one after another leaves them: one long run.
        for (int p = 1024; used.Count < inUse; p++)
        {
            used.Add((ushort)p);
            ports.AddTcpConnection(new InternetEndpoint(Source, (ushort)p));
        }

        return (ports, used);
    }

    [Fact]
    public void SixtyThousandPortsOfOneDestinationInUse_Connect_FreePortInFewAttempts()
    {
        (PortTable ports, HashSet<ushort> used) = FullRange(60_000, out _);
        long attempts = 0;
        for (int i = 0; i < 1_000; i++)
        {
            Assert.True(ports.TryTcpConnectionPort(used, (u, port) => { attempts++; return u.Contains(port); }, out ushort port));
            Assert.DoesNotContain(port, used);
        }

        // 64,512 ports, 4,512 free: about 14 attempts expected per selection; a walk from a random
        // start (Algorithm 1) needs thousands here because the used ports form one run.
        Assert.True(attempts / 1_000.0 < 40, $"{attempts / 1_000.0} attempts per selection");
    }

    [Fact]
    public void EveryPortButOneInUse_Connect_FindsTheLastOne()
    {
        (PortTable ports, HashSet<ushort> used) = FullRange(64_511, out _);
        Assert.True(ports.TryTcpConnectionPort(used, static (u, port) => u.Contains(port), out ushort port));
        Assert.Equal((ushort)65535, port);
    }

    [Fact]
    public void EveryPortInUse_Connect_NoneAvailable()
    {
        (PortTable ports, HashSet<ushort> used) = FullRange(64_512, out _);
        Assert.False(ports.TryTcpConnectionPort(used, static (u, port) => u.Contains(port), out _));
    }
}
