// BBR and CUBIC, one at a time, through a 20 Mbit/s bottleneck with a deep buffer (1,000 packets,
// about 600 ms at that rate) and 10 ms each way, on the virtual clock: CUBIC fills the buffer
// until it overflows, BBR keeps about one BDP queued, and both keep the bottleneck busy.
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tests.Integration;

namespace TunStack.Tests.Tcp;

public class BbrOverDeepBufferTests
{
    private const long RateBitsPerSecond = 20_000_000;
    private const int Size = 8 * 1024 * 1024;

    private static (double MeanRttMs, double GoodputBitsPerSecond) Run(string algorithm)
    {
        var bottleneck = new Impairment { RateBitsPerSecond = RateBitsPerSecond, Delay = TimeSpan.FromMilliseconds(10), QueueLimit = 1000 };
        var back = new Impairment { Delay = TimeSpan.FromMilliseconds(10) };
        var net = new TwoStacks(wrapA: l => new ImpairedLink(l, back, bottleneck, 5), configure: o => o.Tcp.CongestionControlName = algorithm);
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        Instant start = net.Simulation.Clock.Now;
        double rttSum = 0;
        int rttCount = 0;
        Instant nextSample = start + TimeSpan.FromSeconds(1); // past slow start
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, new byte[Size], TimeSpan.FromMinutes(2), _ =>
        {
            for (Instant now = net.Simulation.Clock.Now; now >= nextSample; nextSample += TimeSpan.FromMilliseconds(10))
            {
                rttSum += client.SmoothedRtt.TotalMilliseconds;
                rttCount++;
            }
        });
        Assert.Equal(Size, got.Length);
        double seconds = (net.Simulation.Clock.Now - start).TotalSeconds;
        Console.WriteLine($"{algorithm}: {client.GetInfo()}");
        return (rttSum / Math.Max(1, rttCount), Size * 8 / seconds);
    }

    [Fact]
    public void DeepBufferBottleneck_BbrVersusCubic_BbrQueuesFarLess_GoodputNearTheRate()
    {
        (double bbrRtt, double bbrGoodput) = Run("bbr");
        (double cubicRtt, double cubicGoodput) = Run("cubic");
        Console.WriteLine($"bbr: mean srtt {bbrRtt:0.0} ms, goodput {bbrGoodput / 1e6:0.00} Mbit/s; cubic: mean srtt {cubicRtt:0.0} ms, goodput {cubicGoodput / 1e6:0.00} Mbit/s");
        Assert.True(bbrRtt * 3 < cubicRtt, $"bbr {bbrRtt:0.0} ms vs cubic {cubicRtt:0.0} ms");
        Assert.True(bbrRtt < 80, $"bbr mean srtt {bbrRtt:0.0} ms (path 20 ms)");
        Assert.True(bbrGoodput > 0.85 * RateBitsPerSecond, $"bbr goodput {bbrGoodput / 1e6:0.00} Mbit/s");
    }
}
