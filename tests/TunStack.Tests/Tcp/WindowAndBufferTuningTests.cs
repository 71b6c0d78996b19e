using TunStack.Links;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class WindowAndBufferTuningTests
{
    [Fact]
    public void ApplicationLimited_SmallRequestsAcked_CwndNotGrown_Rfc7661()
    {
        RawPeer p = RawPeer.Established(sack: true);
        int initial = p.Connection!.CongestionWindow;
        for (int i = 0; i < 200; i++)
        {
            p.Connection.Send(new byte[100], out _);
            SentSegment one = Assert.Single(p.Decode(p.Probe.Poll()), s => s.PayloadLength > 0);
            p.Send(TcpFlags.Ack, p.Nxt, one.Seq + one.PayloadLength);
        }

        // 200 ACKs in slow start would have added 200 * 100 bytes; the flight never used half the window.
        Assert.Equal(initial, p.Connection.CongestionWindow);
    }

    [Fact]
    public void SlowStart_FlightOfHalfTheWindowAcked_CwndNotGrown_AsLinuxTcpIsCwndLimited()
    {
        // packetdrill's slow-start-ack-per-2pkt-send-5pkt: 5 segments out of IW10 never make the
        // window grow (cwnd is not less than twice the largest flight).
        RawPeer p = RawPeer.Established(sack: true);
        TcpConnection c = p.Connection!;
        int initial = c.CongestionWindow;
        int mss = c.Mss;
        c.Send(new byte[5 * mss], out _);
        List<SentSegment> sent = SentSegment.Data(p.Decode(p.Probe.Poll()));
        Assert.Equal(5 * mss, sent.Sum(s => s.PayloadLength));
        for (int acked = 2; acked <= 5; acked = acked == 4 ? 5 : acked + 2)
        {
            p.Send(TcpFlags.Ack, p.Nxt, sent[0].Seq + (acked * mss));
            Assert.Equal(initial, c.CongestionWindow);
        }
    }

    [Fact]
    public void SlowStart_WholeWindowSentThenAcked_CwndGrowsToTwiceTheFlight_AsLinuxTcpIsCwndLimited()
    {
        // packetdrill's slow-start-app-limited: IW10 all sent, then acknowledged two segments at a
        // time: the window grows by every byte acknowledged, to 20 segments, even after the flight
        // has drained (the largest flight of the window is what counts, not the flight now).
        RawPeer p = RawPeer.Established(sack: true);
        TcpConnection c = p.Connection!;
        int mss = c.Mss;
        int initial = c.CongestionWindow;
        c.Send(new byte[initial], out _);
        List<SentSegment> sent = SentSegment.Data(p.Decode(p.Probe.Poll()));
        Assert.Equal(initial, sent.Sum(s => s.PayloadLength));
        for (int acked = 2 * mss; acked <= initial; acked += 2 * mss)
        {
            p.Send(TcpFlags.Ack, p.Nxt, sent[0].Seq + acked);
        }

        Assert.Equal(2 * initial, c.CongestionWindow);
    }

    [Fact]
    public void LongFatPath_DefaultBuffers_AutoTuneGrowsBoth_AndTheWindowFillsThePath()
    {
        // 50 ms RTT: 256 KiB windows would cap a connection at about 40 Mbit/s.
        var delay = new Impairment { Delay = TimeSpan.FromMilliseconds(25) };
        var net = new TunStack.Tests.Integration.TwoStacks(wrapA: link => new ImpairedLink(link, delay, delay, 1));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        Assert.Equal(7, TcpReceiver.ShiftFor(new TcpSettings(), 0)); // scaled for ReceiveBufferMax (4 MiB)
        var data = new byte[24 * 1024 * 1024];
        new Random(3).NextBytes(data);
        Instant start = net.Simulation.Clock.Now;
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(2));
        TimeSpan took = net.Simulation.Clock.Now - start;
        Assert.Equal(data.Length, got.Length);
        Assert.True(server.ReceiveBufferSize > 1024 * 1024, $"receive buffer {server.ReceiveBufferSize}");
        Assert.True(client.SendBufferSize > 1024 * 1024, $"send buffer {client.SendBufferSize}");
        Assert.True(net.B.Counters[Counter.TcpReceiveBufferGrowths] > 0 && net.A.Counters[Counter.TcpSendBufferGrowths] > 0);
        double mbps = data.Length * 8 / took.TotalSeconds / 1e6;
        Assert.True(mbps > 200, $"{mbps:F0} Mbit/s in virtual time");
    }
}
