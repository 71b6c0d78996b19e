using System.Security.Cryptography;
using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>Option negotiation, the SYN queue's retransmissions, ISNs, RFC 5961 5.2, and wrap-around on the sending side.</summary>
public class TcpOptionNegotiationTests
{
    private static (RawPeer Peer, SentSegment SynAck) Syn(TcpOptions options, Action<StackOptions>? configure = null)
    {
        RawPeer p = RawPeer.Listening(configure);
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(1000), default, options: options));
        return (p, synAck);
    }

    [Theory]
    [InlineData(0, 536)]     // RFC 9293 3.7.1: MSS 0 is ignored: the default applies
    [InlineData(10, 48)]     // tiny values are clamped up (Linux tcp_min_snd_mss)
    [InlineData(1200, 1200)]
    [InlineData(9000, 1460)] // never above what our MTU allows
    public void SynWithMss_Rfc9293Sec3_7_1_EffectiveMssChosen(int offered, int expected)
    {
        TcpOptions o = TcpOptions.None;
        o.Mss = (ushort)offered;
        (RawPeer p, SentSegment synAck) = Syn(o);
        Assert.Equal(1460, synAck.Options.Mss); // ours, from the MTU
        TcpConnection c = p.CompleteHandshake(synAck);
        Assert.Equal(expected, c.Mss);
    }

    [Fact]
    public void SynWithoutWindowScale_Rfc7323Sec2_2_NoScalingEitherWay()
    {
        RawPeer p = RawPeer.Listening();
        TcpOptions o = TcpOptions.None;
        o.Mss = 1460;
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(1000), default, options: o));
        Assert.Equal(-1, synAck.Options.WindowScale); // not offered back
        Assert.False(synAck.Options.SackPermitted);
        Assert.False(synAck.Options.HasTimestamps);
        TcpConnection c = p.CompleteHandshake(synAck);
        Assert.False(c.WindowScalingEnabled);
        // With no scaling the advertised window is at most 65,535.
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack | TcpFlags.Psh, "x"u8));
        Assert.True(ack.Window <= 65535);
    }

    [Fact]
    public void OutOfOrderWithSackNegotiated_Rfc2018Sec4_AckCarriesSackBlock()
    {
        RawPeer p = RawPeer.Listening();
        TcpOptions o = TcpOptions.None;
        o.Mss = 1460;
        o.SackPermitted = true;
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(1000), default, options: o));
        Assert.True(synAck.Options.SackPermitted);
        p.Nxt = new SeqNumber(1001);
        p.StackNxt = synAck.Seq + 1;
        p.Send(TcpFlags.Ack);
        SentSegment dupAck = Assert.Single(p.Send(TcpFlags.Ack, p.Nxt + 100, p.StackNxt, new byte[50]));
        Assert.Equal(p.Nxt, dupAck.Ack);
        Assert.Equal(1, dupAck.Options.SackCount);
        Assert.Equal(new SackBlock(p.Nxt + 100, p.Nxt + 150), dupAck.Options.GetSack(0));
    }

    [Fact]
    public void SynNotAcked_SynQueue_SynAckRetransmittedWithBackoffThenDropped()
    {
        RawPeer p = RawPeer.Listening();
        TcpAcceptor listener = p.Listener!;
        SentSegment first = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(1000), default));
        var gaps = new List<double>();
        double elapsed = 0;
        double last = 0;
        while (listener.HalfOpenCount > 0 && elapsed < 300)
        {
            elapsed += 0.25;
            foreach (SentSegment s in p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(250))))
            {
                Assert.True(s.Has(TcpFlags.Syn | TcpFlags.Ack));
                Assert.Equal(first.Seq, s.Seq);
                gaps.Add(elapsed - last);
                last = elapsed;
            }
        }

        // RFC 6298 5.5: 1, 2, 4, 8, 16 s (5 retransmissions, Linux tcp_synack_retries), then the half-open entry goes.
        Assert.Equal(new[] { 1.0, 2.0, 4.0, 8.0, 16.0 }, gaps.Select(g => Math.Round(g)).ToArray());
        Assert.Equal(0, listener.HalfOpenCount);
    }

    [Fact]
    public void Listen_BacklogAboveSomaxconn_ClampedTo4096()
    {
        var probe = new Probe();
        Assert.Equal(4096, probe.Stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 1), 100_000, out _)!.Backlog);
        Assert.Equal(1, probe.Stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 2), 0, out _)!.Backlog);
    }

    [Fact]
    public void InitialSequenceNumbers_Rfc6528_DifferPerTupleAndAdvanceWithTheClock()
    {
        var probe = new Probe();
        var t1 = new TcpTuple(new InternetEndpoint(Probe.StackV4, 40000), new InternetEndpoint(Probe.PeerV4, 80));
        var t2 = new TcpTuple(new InternetEndpoint(Probe.StackV4, 40001), new InternetEndpoint(Probe.PeerV4, 80));
        SeqNumber a = probe.Stack.TcpInitialSequenceNumber(t1);
        SeqNumber b = probe.Stack.TcpInitialSequenceNumber(t2);
        Assert.NotEqual(a, b);
        probe.Advance(TimeSpan.FromMilliseconds(4));
        SeqNumber later = probe.Stack.TcpInitialSequenceNumber(t1);
        Assert.Equal(1000, later - a); // M: one tick per 4 µs
    }

    [Fact]
    public void Established_AckOlderThanMaxWindow_Rfc5961Sec5_2_DroppedWithAck()
    {
        RawPeer p = RawPeer.Established();
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack, p.Nxt, p.StackNxt - 200_000, "data"u8));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(0, p.Connection!.Available); // the segment was dropped
        Assert.Equal(1, p.Probe[Counter.TcpAckTooOld]);
    }

    [Fact]
    public void BothIsnsJustBeforeWrap_Rfc9293Sec3_4_TransferAcrossTwoTo32Exact()
    {
        var net = new TwoStacks();
        net.A.FixedTcpIsnForTests = uint.MaxValue - 5000;
        net.B.FixedTcpIsnForTests = uint.MaxValue - 3000;
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 9000), 4, out _)!;
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 9000), out _)!;
        Assert.True(net.Simulation.RunUntil(() => listener.PendingCount == 1, TimeSpan.FromSeconds(2)));
        listener.TryAccept(out TcpConnection? server);
        var data = new byte[300_000];
        new Random(12).NextBytes(data);
        foreach ((TcpConnection from, TcpConnection to) in new[] { (client, server!), (server!, client) })
        {
            byte[] got = TcpTests.Transfer(net.Simulation, from, to, data, TimeSpan.FromMinutes(1));
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        }

        Assert.Equal(0, net.A.Counters[Counter.TcpRetransmits] + net.B.Counters[Counter.TcpRetransmits]);
    }
}
