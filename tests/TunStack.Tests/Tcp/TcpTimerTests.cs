using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>Keepalive, user timeout, FIN-WAIT-2 timeout, TIME-WAIT and orphan bounds, ICMP errors.</summary>
public class TcpTimerTests
{
    // ESTABLISHED with keepalive on: the first probe after 10 s idle, then one every 2 s.
    private static RawPeer KeepingAlive(int probes)
    {
        RawPeer p = RawPeer.Established();
        TcpConnection c = p.Connection!;
        c.KeepAliveIdle = TimeSpan.FromSeconds(10);
        c.KeepAliveInterval = TimeSpan.FromSeconds(2);
        c.KeepAliveProbes = probes;
        c.KeepAlive = true;
        return p;
    }

    [Fact]
    public void Established_KeepAliveToSilentPeer_Rfc1122Sec4_2_3_6_ProbesThenTimedOut()
    {
        RawPeer p = KeepingAlive(probes: 3);
        TcpConnection c = p.Connection!;
        Assert.Empty(p.Probe.Advance(TimeSpan.FromSeconds(9)));
        SentSegment probe = Assert.Single(p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(1.1))));
        Assert.Equal(p.StackNxt - 1, probe.Seq); // SEG.SEQ = SND.NXT - 1, no data
        Assert.Equal(0, probe.PayloadLength);
        p.Probe.Advance(TimeSpan.FromSeconds(2.1));
        p.Probe.Advance(TimeSpan.FromSeconds(2.1));
        Assert.Equal(TcpConnectionState.Established, c.State);
        p.Probe.Advance(TimeSpan.FromSeconds(2.1));
        Assert.Equal(TcpConnectionState.Closed, c.State);
        Assert.Equal(StackError.TimedOut, c.Error);
        Assert.Equal(3, p.Probe[Counter.TcpKeepAliveProbes]);
    }

    [Fact]
    public void Established_KeepAliveAnswered_ConnectionStays()
    {
        RawPeer p = KeepingAlive(probes: 2);
        TcpConnection c = p.Connection!;
        for (int i = 0; i < 5; i++)
        {
            Assert.Single(p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(10.5))));
            p.Send(TcpFlags.Ack); // the peer answers the probe
        }

        Assert.Equal(TcpConnectionState.Established, c.State);
    }

    [Fact]
    public void Established_KeepAliveOffByDefault_NoProbes()
    {
        RawPeer p = RawPeer.Established();
        Assert.False(p.Connection!.KeepAlive);
        Assert.Empty(p.Probe.Advance(TimeSpan.FromHours(3)));
        Assert.Equal(TcpConnectionState.Established, p.Connection.State);
    }

    [Fact]
    public void Established_UserTimeout_Rfc5482_AbortsBeforeRetriesRunOut()
    {
        RawPeer p = RawPeer.Established();
        TcpConnection c = p.Connection!;
        c.UserTimeout = TimeSpan.FromSeconds(5);
        c.Send("never acknowledged"u8, out _);
        for (int i = 0; i < 10 && c.State != TcpConnectionState.Closed; i++)
        {
            p.Probe.Advance(TimeSpan.FromSeconds(2));
        }

        Assert.Equal(TcpConnectionState.Closed, c.State);
        Assert.Equal(StackError.TimedOut, c.Error);
        Assert.Equal(1, p.Probe[Counter.TcpUserTimeouts]);
        Assert.True(p.Probe[Counter.TcpTimeouts] < 15);
    }

    [Fact]
    public void IdleThenClosed_UserTimeout3s_LoneFinUnacknowledged_ConnectionLastsThreeSecondsFromTheFin()
    {
        // packetdrill's user_timeout: the timeout runs from the FIN's sending, not from the last
        // data the connection ever sent (Linux: retrans_stamp, the head's send time).
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        TcpConnection c = p.Connection!;
        p.Probe.Advance(TimeSpan.FromSeconds(2));
        c.UserTimeout = TimeSpan.FromSeconds(3);
        c.Close();
        for (int i = 0; i < 25; i++)
        {
            p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(100)));
        }

        Assert.Equal(TcpConnectionState.FinWait1, c.State); // 2.5 s after the FIN
        for (int i = 0; i < 30 && c.State != TcpConnectionState.Closed; i++)
        {
            p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(100)));
        }

        Assert.Equal(TcpConnectionState.Closed, c.State); // by the first RTO past 3 s
        Assert.Equal(StackError.TimedOut, c.Error);
    }

    [Fact]
    public void OrphanInFinWait1_DataArrivesAckingBelowTheFin_ResetCarriesTheSegmentsAckNumber()
    {
        // Linux answers data for a closed socket as from no connection (tcp_v4_send_reset): the
        // RST's sequence number is the segment's ACK field (RFC 9293 3.10.7.1).
        RawPeer p = RawPeer.Established(sack: true);
        TcpConnection c = p.Connection!;
        c.Close();
        SentSegment fin = Assert.Single(p.Decode(p.Probe.Poll()), s => s.Has(TcpFlags.Fin));

        List<SentSegment> replies = p.Send(TcpFlags.Ack, p.Nxt, fin.Seq, "late"u8);

        SentSegment rst = Assert.Single(replies, s => s.Has(TcpFlags.Rst));
        Assert.Equal(fin.Seq, rst.Seq);
        Assert.Equal(TcpConnectionState.Closed, c.State);
    }

    [Fact]
    public void FinWait2_OrphanedAndPeerSilent_ClosedAfterFinTimeout()
    {
        RawPeer p = RawPeer.InState(TcpConnectionState.FinWait2);
        p.Probe.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(TcpConnectionState.FinWait2, p.Connection!.State);
        p.Probe.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpConnectionState.Closed, p.Connection.State);
        Assert.Equal(1, p.Probe[Counter.TcpFinWait2Timeouts]);
    }

    [Fact]
    public void TimeWaitBound_Reached_ConnectionSkipsTimeWait()
    {
        // With the default bound the connection enters TIME-WAIT; with a bound of 0 it closes at once.
        RawPeer q = RawPeer.InState(TcpConnectionState.FinWait2);
        q.Send(TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(TcpConnectionState.TimeWait, q.Connection!.State);

        RawPeer r = RawPeer.Established(peerIss: 100, configure: o => o.Tcp.MaxTimeWait = 0);
        r.Connection!.Close();
        r.Decode(r.Probe.Poll());
        r.Send(TcpFlags.Ack);
        r.Send(TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(TcpConnectionState.Closed, r.Connection.State);
        Assert.Equal(1, r.Probe[Counter.TcpTimeWaitOverflow]);
    }

    [Fact]
    public void OrphanBound_Reached_CloseResets()
    {
        RawPeer r = RawPeer.Established(peerIss: 100, configure: o => o.Tcp.MaxOrphans = 0);
        r.Connection!.Close();
        SentSegment rst = Assert.Single(r.Decode(r.Probe.Poll()));
        Assert.True(rst.Has(TcpFlags.Rst));
        Assert.Equal(1, r.Probe[Counter.TcpOrphanOverflow]);
    }

    [Fact]
    public void SynSent_IcmpPortUnreachable_Rfc1122Sec4_2_3_9_ConnectionRefused()
    {
        var probe = new Probe();
        TcpConnection c = probe.Stack.ConnectTcp(new InternetEndpoint(Probe.PeerV4, 81), out _)!;
        byte[] syn = Assert.Single(probe.Poll());
        byte[] icmp = Packets.Icmp(Probe.PeerV4, Probe.StackV4, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0, syn);
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp, icmp));
        Assert.Equal(TcpConnectionState.Closed, c.State);
        Assert.Equal(StackError.ConnectionRefused, c.Error);
    }

    [Fact]
    public void SynSent_IcmpQuotingWrongSequence_Rfc5927Sec4_1_Ignored()
    {
        var probe = new Probe();
        TcpConnection c = probe.Stack.ConnectTcp(new InternetEndpoint(Probe.PeerV4, 81), out _)!;
        byte[] syn = Assert.Single(probe.Poll());
        syn[20 + 4] ^= 0x80; // a quoted sequence number that was never sent
        byte[] icmp = Packets.Icmp(Probe.PeerV4, Probe.StackV4, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0, syn);
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp, icmp));
        Assert.Equal(TcpConnectionState.SynSent, c.State);
    }

    [Fact]
    public void Established_IcmpUnreachable_Rfc1122Sec4_2_3_9_SoftErrorConnectionStays()
    {
        RawPeer p = RawPeer.Established();
        p.Connection!.Send("x"u8, out _);
        byte[] data = Assert.Single(p.Probe.Poll());
        byte[] icmp = Packets.Icmp(Probe.PeerV4, Probe.StackV4, Icmpv4Type.DestinationUnreachable, 1, 0, data);
        p.Probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp, icmp));
        Assert.Equal(TcpConnectionState.Established, p.Connection.State);
    }
}
