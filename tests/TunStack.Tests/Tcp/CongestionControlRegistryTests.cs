// Congestion control chosen by name: the built-ins, an application's own algorithm registered on
// the stack, per stack and per connection, and what the connection reports.
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tcp.Congestion;
using TunStack.Tests.Integration;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class CongestionControlRegistryTests
{
    // Counts the events it hears of; a fixed window of 20 segments.
    private sealed class Counting : CongestionControl
    {
        public Counting(int mss)
            : base(mss)
        {
            Cwnd = 20 * mss;
        }

        public int Acks { get; private set; }

        public long AckedBytes { get; private set; }

        public int RateSamples { get; private set; }

        public override void OnAck(in CongestionAck ack)
        {
            Acks++;
            AckedBytes += ack.AckedBytes;
            if (ack.Rate.IsValid)
            {
                RateSamples++;
            }
        }

        public override void OnLoss(int flightSize, Instant now) => Cwnd = Math.Max(2 * Mss, flightSize / 2);

        public override void OnMssChanged(int mss, bool beforeData) => Cwnd = 20 * mss;
    }

    [Fact]
    public void NewRegistry_HasTheBuiltIns_ByLinuxNames()
    {
        var registry = new CongestionControlRegistry();
        Assert.True(registry.Contains("cubic"));
        Assert.True(registry.Contains("reno"));
        Assert.True(registry.Contains("newreno"));
        Assert.True(registry.Contains("bbr"));
        Assert.False(registry.Contains("vegas"));
        Assert.Equal(CongestionAlgorithm.Bbr, CongestionControlRegistry.AlgorithmOf(registry.Create("bbr", 1460).Name));
        Assert.Equal("reno", CongestionControlRegistry.NameOf(CongestionAlgorithm.NewReno));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("sixteen-chars-xx")]
    public void Register_BadName_ArgumentException(string name)
        => Assert.Throws<ArgumentException>(() => new CongestionControlRegistry().Register(name, mss => new Counting(mss)));

    [Fact]
    public void UnknownName_OnSettingsOrConnection_ArgumentException_NothingChanges()
    {
        var settings = new TcpSettings();
        Assert.Throws<ArgumentException>(() => settings.CongestionControlName = "vegas");
        Assert.Equal("cubic", settings.CongestionControlName);
        Assert.Throws<ArgumentOutOfRangeException>(() => settings.CongestionControl = CongestionAlgorithm.Custom);

        (_, TcpConnection client, _) = TcpTests.Connected();
        Assert.Throws<ArgumentException>(() => client.CongestionControlName = "vegas");
        Assert.Equal("cubic", client.CongestionControlName);
    }

    [Fact]
    public void CustomAlgorithmRegisteredOnTheStack_DefaultByName_HearsEveryAckWithRateSamples_InfoNamesIt()
    {
        var made = new List<Counting>(); // both stacks' connections (TwoStacks configures both alike)
        // 10 ms one way: rate samples need time to pass between a send and its ACK.
        var net = new TwoStacks(wrapA: l => new ImpairedLink(l, Impairment.None, new Impairment { Delay = TimeSpan.FromMilliseconds(10) }, 1), configure: o =>
        {
            o.Tcp.CongestionControls.Register("counting", mss =>
            {
                var controller = new Counting(mss);
                made.Add(controller);
                return controller;
            });
            o.Tcp.CongestionControlName = "counting";
        });
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        TcpTests.Transfer(net.Simulation, client, server, new byte[300_000], TimeSpan.FromSeconds(10));

        Assert.Equal(2, made.Count);
        Assert.Equal(300_000, made.Sum(c => c.AckedBytes));
        Assert.True(made.Sum(c => c.RateSamples) > 0);
        Assert.True(made.Sum(c => c.Acks) > 0);
        Assert.Equal(20 * client.Mss, client.CongestionWindow);
        TcpConnectionInfo info = client.GetInfo();
        Assert.Equal("counting", info.AlgorithmName);
        Assert.Equal(CongestionAlgorithm.Custom, info.Algorithm);
        Assert.Equal(CongestionAlgorithm.Custom, net.A.Options.Tcp.CongestionControl);
        Assert.StartsWith("Established counting ", info.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void SackPeer_AckThatAdvancesAndSacksMore_OneEventWithBothDelivered_SackOnlyAck_OneEventNoGrowth()
    {
        const int Mss = 1460;
        var made = new List<Counting>();
        RawPeer p = RawPeer.Established(sack: true, configure: o =>
        {
            o.Tcp.CongestionControls.Register("counting", mss =>
            {
                var controller = new Counting(mss);
                made.Add(controller);
                return controller;
            });
            o.Tcp.CongestionControlName = "counting";
        });
        Counting cc = made[^1];
        p.Connection!.Send(new byte[10 * Mss], out _);
        List<SentSegment> burst = SentSegment.Data(p.Decode(p.Probe.Poll()));
        SeqNumber una = burst[0].Seq;

        p.Ack(una, (una + (2 * Mss), una + (3 * Mss))); // SACK only: segment 2
        Assert.Equal(1, cc.Acks);
        Assert.Equal(Mss, cc.AckedBytes);

        p.Ack(una + Mss, (una + (2 * Mss), una + (4 * Mss))); // segment 0 cumulatively, segment 3 by SACK
        Assert.Equal(2, cc.Acks);
        Assert.Equal(3 * Mss, cc.AckedBytes);
    }

    [Fact]
    public void EstablishedConnection_SwitchedByName_KeepsTheWindow_ToBbrAndBack()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = TcpTests.Connected();
        TcpTests.Transfer(net.Simulation, client, server, new byte[100_000], TimeSpan.FromSeconds(5));
        int cwnd = client.CongestionWindow;
        client.CongestionControlName = "bbr";
        Assert.Equal(CongestionAlgorithm.Bbr, client.CongestionAlgorithm);
        Assert.Equal(cwnd, client.CongestionWindow);
        TcpTests.Transfer(net.Simulation, client, server, new byte[100_000], TimeSpan.FromSeconds(5));
        Assert.True(client.PacingRate > 0);
        Assert.NotNull(client.GetInfo().Bbr);

        client.CongestionAlgorithm = CongestionAlgorithm.Cubic;
        Assert.Equal("cubic", client.CongestionControlName);
        Assert.Null(client.GetInfo().Bbr);
    }
}
