// BBR over lossy and reordering paths between two stacks on a virtual clock: recovery (packet
// conservation, no PRR), RTOs and undo all end with every byte delivered intact.
using System.Security.Cryptography;
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tests.Integration;

namespace TunStack.Tests.Tcp;

public class BbrLossyTransferTests
{
    [Theory]
    [InlineData("loss=1%,delay=5ms")]
    [InlineData("loss=5%,delay=5ms")]
    [InlineData("reorder=5%,delay=5ms,jitter=1ms")]
    [InlineData("loss=1%,delay=10ms,rate=20mbit")]
    public void Bbr_FourMegabytesOverImpairedPath_ShaMatches_RecoveredWithoutStalling(string impairment)
    {
        Assert.True(Impairment.TryParse(impairment, out Impairment profile, out _, out string? error), error);
        var net = new TwoStacks(wrapA: l => new ImpairedLink(l, profile, profile, 11), configure: o => o.Tcp.CongestionControlName = "bbr");
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        var data = new byte[4 * 1024 * 1024];
        new Random(4).NextBytes(data);
        Instant start = net.Simulation.Clock.Now;
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(5));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        TcpConnectionInfo info = client.GetInfo();
        Console.WriteLine($"{impairment}: {info}");
        Assert.Equal("bbr", info.AlgorithmName);
        Assert.True(info.PacingRateBytesPerSecond > 0);
        if (profile.LossPercent > 0)
        {
            Assert.True(info.FastRecoveries > 0);
        }
    }

    [Fact]
    public void Bbr_AfterATransferOver20MbitAnd20MsRtt_CcInfoHoldsTheMeasuredModel()
    {
        Assert.True(Impairment.TryParse("delay=10ms,rate=20mbit", out Impairment profile, out _, out string? error), error);
        var net = new TwoStacks(wrapA: l => new ImpairedLink(l, profile, profile, 11), configure: o => o.Tcp.CongestionControlName = "bbr");
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        TcpTests.Transfer(net.Simulation, client, server, new byte[2 * 1024 * 1024], TimeSpan.FromMinutes(1));

        // TCP_CC_INFO (struct tcp_bbr_info): the bottleneck's rate and the path's RTT as BBR measured them.
        BbrInfo bbr = Assert.NotNull(client.GetInfo().Bbr);
        Assert.InRange(bbr.BottleneckBandwidthBytesPerSecond, 0.8 * 20e6 / 8, 1.05 * 20e6 / 8);
        Assert.InRange(bbr.MinRtt.TotalMilliseconds, 20, 25);
        Assert.True(bbr.PacingGain > 0 && bbr.CwndGain >= 2, $"{bbr}");
    }
}
