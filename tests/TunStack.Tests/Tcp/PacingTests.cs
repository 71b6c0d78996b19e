// Earliest-departure-time pacing on the virtual clock: a controller's pacing rate spaces what the
// stack sends, whatever cwnd would allow at once.
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tcp.Congestion;
using TunStack.Tests.Integration;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tcp;

public class PacingTests
{
    private const double Rate = 1_000_000; // bytes per second

    // A controller with a huge window and a fixed pacing rate: only pacing limits the sender.
    private sealed class FixedRate : CongestionControl
    {
        public FixedRate(int mss)
            : base(mss)
        {
            Cwnd = 4 * 1024 * 1024;
            PacingRate = Rate;
        }

        public override void OnAck(in CongestionAck ack)
        {
        }

        public override void OnLoss(int flightSize, Instant now)
        {
        }

        public override void OnMssChanged(int mss, bool beforeData)
        {
        }
    }

    // A window-based controller that counts the stack's restarts from idle.
    private sealed class CountingRestarts : CongestionControl
    {
        public CountingRestarts(int mss)
            : base(mss)
        {
        }

        public int Restarts { get; private set; }

        public override void OnAck(in CongestionAck ack) => SlowStart(ack.AckedBytes);

        public override void OnLoss(int flightSize, Instant now) => Cwnd = Ssthresh = Math.Max(flightSize / 2, 2 * Mss);

        public override void OnRestartFromIdle(Instant now) => Restarts++;
    }

    [Fact]
    public void Established_SendAfterAnIdleSecond_ControllerHearsOneRestartFromIdle_NoneWhileDataIsInFlight()
    {
        CountingRestarts? controller = null;
        var net = new TwoStacks(configure: o => o.Tcp.CongestionControls.Register("counting", mss => controller = new CountingRestarts(mss)));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        client.CongestionControlName = "counting";

        // One write of 69 full segments, sent over several round trips (cwnd-limited, data in
        // flight throughout, no small tail for Nagle to hold until all is acknowledged): only its
        // first send restarts.
        TcpTests.Transfer(net.Simulation, client, server, new byte[69 * client.Mss], TimeSpan.FromSeconds(10));
        Assert.Equal(1, controller!.Restarts);

        // Quiet for a second (everything acknowledged), then a small write: one more.
        net.Simulation.RunFor(TimeSpan.FromSeconds(1));
        TcpTests.Transfer(net.Simulation, client, server, new byte[100], TimeSpan.FromSeconds(5));
        Assert.Equal(2, controller.Restarts);
    }

    [Fact]
    public void PacedAtOneMegabytePerSecond_BulkTransfer_EveryFiftyMillisecondsCarryFiftyKilobytes()
    {
        RecordingLink? recorder = null;
        var net = new TwoStacks(wrapA: l => recorder = new RecordingLink(l), configure: o =>
        {
            o.Tcp.CongestionControls.Register("fixed", mss => new FixedRate(mss));
            o.Tcp.CongestionControlName = "fixed";
        });
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        Assert.Equal(Rate, client.PacingRate);
        var data = new byte[400_000];
        Instant start = net.Simulation.Clock.Now;
        int sentBefore = recorder!.Sent.Count;
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromSeconds(10));
        Assert.Equal(data.Length, got.Length);

        // Data packets only (pure ACKs are small), in 50 ms bins after the first.
        var bins = new SortedDictionary<long, long>();
        foreach ((int length, _, Instant at) in recorder.Sent.Skip(sentBefore))
        {
            if (length > 200)
            {
                long bin = (at - start).Ticks / TimeSpan.FromMilliseconds(50).Ticks;
                bins[bin] = bins.GetValueOrDefault(bin) + length;
            }
        }

        long[] full = bins.Where(b => b.Key > 0 && b.Key < bins.Keys.Max()).Select(b => b.Value).ToArray();
        Assert.True(full.Length >= 5, $"{full.Length} full bins");
        foreach (long bytes in full)
        {
            // 50 KB of payload per bin, plus the headers (about 4%).
            Assert.InRange(bytes, 0.95 * Rate / 20, 1.12 * Rate / 20);
        }

        // 400 KB at 1 MB/s, from the first data packet to the last.
        Instant[] departures = recorder.Sent.Skip(sentBefore).Where(p => p.Length > 200).Select(p => p.At).ToArray();
        Assert.InRange((departures[^1] - departures[0]).TotalSeconds, 0.36, 0.42);
    }

    [Fact]
    public void PacingSettingOnForCubic_RateIsLinuxsFromCwndAndSrtt()
    {
        var net = new TwoStacks(wrapA: l => new ImpairedLink(l, Impairment.None, new Impairment { Delay = TimeSpan.FromMilliseconds(20) }, 1), configure: o => o.Tcp.Pacing = true);
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        TcpTests.Transfer(net.Simulation, client, server, new byte[200_000], TimeSpan.FromSeconds(10));
        Assert.True(client.SmoothedRtt > TimeSpan.Zero);
        double factor = client.GetInfo().SlowStartThreshold > client.CongestionWindow ? 2.0 : 1.2;
        Assert.Equal(factor * client.CongestionWindow / client.SmoothedRtt.TotalSeconds, client.PacingRate, 3);
        Assert.Equal(client.PacingRate, client.GetInfo().PacingRateBytesPerSecond);
    }

    [Fact]
    public void PacingSettingOff_Cubic_NotPaced()
    {
        var net = new TwoStacks(wrapA: l => new ImpairedLink(l, Impairment.None, new Impairment { Delay = TimeSpan.FromMilliseconds(20) }, 1));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        TcpTests.Transfer(net.Simulation, client, server, new byte[100_000], TimeSpan.FromSeconds(5));
        Assert.True(client.SmoothedRtt > TimeSpan.Zero);
        Assert.Equal(0, client.PacingRate);
    }
}
