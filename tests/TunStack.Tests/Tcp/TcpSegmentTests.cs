using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>Segment by segment against the stack, each test naming state, event, outcome and the clause it checks.</summary>
public class TcpSegmentTests
{
    public static IEnumerable<object[]> SynchronizedStates => new[]
    {
        TcpConnectionState.Established, TcpConnectionState.CloseWait, TcpConnectionState.FinWait1, TcpConnectionState.FinWait2, TcpConnectionState.Closing, TcpConnectionState.LastAck, TcpConnectionState.TimeWait,
    }.Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void AnySynchronizedState_RstAtRcvNxt_Rfc5961Sec3_2_ConnectionClosed(TcpConnectionState state)
    {
        RawPeer p = RawPeer.InState(state);
        Assert.Empty(p.Send(TcpFlags.Rst, p.Nxt, default));
        Assert.Equal(TcpConnectionState.Closed, p.Connection!.State);
    }

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void AnySynchronizedState_RstInWindowNotAtRcvNxt_Rfc5961Sec3_2_ChallengeAckStateKept(TcpConnectionState state)
    {
        RawPeer p = RawPeer.InState(state);
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Rst, p.Nxt + 100, default));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(p.Nxt, ack.Ack); // the challenge ACK carries RCV.NXT
        Assert.Equal(state, p.Connection!.State);
        Assert.Equal(1, p.Probe[Counter.TcpChallengeAcks]);
    }

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void AnySynchronizedState_RstOutOfWindow_Rfc5961Sec3_2_DroppedSilently(TcpConnectionState state)
    {
        RawPeer p = RawPeer.InState(state);
        Assert.Empty(p.Send(TcpFlags.Rst, p.Nxt + 10_000_000, default));
        Assert.Equal(state, p.Connection!.State);
    }

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void AnySynchronizedState_SynInWindow_Rfc5961Sec4_2_ChallengeAckNotReset(TcpConnectionState state)
    {
        RawPeer p = RawPeer.InState(state);
        List<SentSegment> replies = p.Send(TcpFlags.Syn, p.Nxt, default);
        if (state != TcpConnectionState.TimeWait)
        {
            SentSegment ack = Assert.Single(replies);
            Assert.Equal(TcpFlags.Ack, ack.Flags);
        }

        Assert.Equal(state, p.Connection!.State);
        Assert.DoesNotContain(replies, r => r.Has(TcpFlags.Rst));
    }

    [Fact]
    public void Established_BurstOfInWindowResets_Rfc5961Sec7_OneChallengeAckPerInterval()
    {
        RawPeer p = RawPeer.Established();
        int sent = 0;
        for (int i = 0; i < 3000; i++)
        {
            sent += p.Send(TcpFlags.Rst, p.Nxt + 1 + i, default).Count;
        }

        Assert.Equal(1, sent); // as Linux answered the same burst (tcp_invalid_ratelimit)
        Assert.Equal(2999, p.Probe[Counter.TcpChallengeAcksRateLimited]);
        p.Probe.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Single(p.Send(TcpFlags.Rst, p.Nxt + 1, default));
    }

    [Fact]
    public void Established_ChallengeAcks_Rfc5961Sec7_StackBudgetDrawnAtRandomEachSecond()
    {
        RawPeer p = RawPeer.Established(configure: o =>
        {
            o.Tcp.ChallengeAckInterval = TimeSpan.Zero; // only the stack's budget limits here
            o.Tcp.ChallengeAcksPerSecond = 100;
        });
        var perSecond = new List<int>();
        for (int second = 0; second < 5; second++)
        {
            int sent = 0;
            for (int i = 0; i < 400; i++)
            {
                sent += p.Send(TcpFlags.Rst, p.Nxt + 1 + i, default).Count;
            }

            perSecond.Add(sent);
            p.Probe.Advance(TimeSpan.FromSeconds(1));
        }

        // Between half and one and a half times the limit, and not one fixed, countable number.
        Assert.All(perSecond, n => Assert.InRange(n, 50, 149));
        Assert.True(perSecond.Distinct().Count() > 1, string.Join(", ", perSecond));
    }

    [Fact]
    public void Established_AckOfUnsentData_Rfc9293Sec3_10_7_4_AckSentSegmentDropped()
    {
        RawPeer p = RawPeer.Established();
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack, p.Nxt, p.StackNxt + 5000, "ignored"u8));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(p.Nxt, ack.Ack); // the data was not taken
        Assert.Equal(0, p.Connection!.Available);
        Assert.Equal(1, p.Probe[Counter.TcpAckOfUnsentData]);
    }

    [Fact]
    public void Established_SegmentLeftOfWindow_Rfc9293Sec3_10_7_4_DuplicateAckedNotDelivered()
    {
        RawPeer p = RawPeer.Established();
        p.Send(TcpFlags.Ack | TcpFlags.Psh, "hello"u8);
        Assert.Equal(5, p.Connection!.Available);
        // The same bytes again (an old duplicate): acknowledged, not delivered twice.
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt - 5, p.StackNxt, "hello"u8));
        Assert.Equal(p.Nxt, ack.Ack);
        Assert.Equal(5, p.Connection.Available);
    }

    [Fact]
    public void Established_OutOfOrderThenGapFilled_Rfc9293Sec3_10_7_4_DeliveredInOrderWithSack()
    {
        RawPeer p = RawPeer.Established();
        SentSegment dup = Assert.Single(p.Send(TcpFlags.Ack, p.Nxt + 5, p.StackNxt, "world"u8));
        Assert.Equal(p.Nxt, dup.Ack); // immediate duplicate ACK for the hole
        Assert.Equal(0, p.Connection!.Available);
        p.Send(TcpFlags.Ack, "hello"u8);
        p.Nxt += 5;
        var buffer = new byte[10];
        Assert.Equal(10, p.Connection.Receive(buffer, out _));
        Assert.Equal("helloworld"u8.ToArray(), buffer);
    }

    [Fact]
    public void Established_DataAcrossSequenceWrap_Rfc9293Sec3_4_AcceptedInOrder()
    {
        // RFC 9293 3.4: sequence numbers wrap at 2^32; the peer's ISN puts RCV.NXT 3 bytes before the wrap.
        RawPeer p = RawPeer.Established(peerIss: uint.MaxValue - 3);
        Assert.Equal(new SeqNumber(uint.MaxValue - 2), p.Nxt);
        p.Send(TcpFlags.Ack, "abcdefgh"u8);
        SentSegment ack = p.Send(TcpFlags.Ack | TcpFlags.Psh, "ijkl"u8).Last();
        Assert.Equal(new SeqNumber(9), ack.Ack);
        Assert.Equal(12, p.Connection!.Available);
    }

    [Fact]
    public void Established_PawsOldTimestamp_Rfc7323Sec5_3_DroppedWithAck()
    {
        RawPeer p = RawPeer.Established(timestamps: true);
        p.TsVal = 2000;
        p.Send(TcpFlags.Ack, "new"u8);
        Assert.Equal(3, p.Connection!.Available);
        p.TsVal = 1500; // older than TS.Recent
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack, "old"u8));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(3, p.Connection.Available);
        Assert.Equal(1, p.Probe[Counter.TcpPawsRejected]);
    }

    [Fact]
    public void Established_PeerWindowBelowMss_RtoRetransmission_StaysInsideTheWindow()
    {
        RawPeer p = RawPeer.Established();
        Assert.Empty(p.Send(TcpFlags.Ack, p.Nxt, p.StackNxt, window: 1000)); // the peer offers 1,000 bytes, less than one MSS
        p.Connection!.Send(new byte[3000], out _);

        // Sender SWS avoidance (RFC 9293 3.8.6.2.1) holds the segment the window would cut short;
        // the override timer (RFC 1122 4.2.3.4) then sends what fits.
        Assert.Empty(p.Decode(p.Probe.Poll()));
        List<SentSegment> first = p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(1.1)));
        Assert.All(first, s => Assert.True(s.PayloadLength <= 1000, $"first flight: {s.PayloadLength} bytes"));
        Assert.Equal(1000, first.Sum(s => s.PayloadLength));

        // No ACK: after the RTO the retransmission goes from SND.UNA, and no further than SND.UNA + SND.WND.
        List<SentSegment> again = p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(2.5)));
        SentSegment retransmission = Assert.Single(again, s => s.PayloadLength > 0);
        Assert.Equal(first[0].Seq, retransmission.Seq);
        Assert.InRange(retransmission.PayloadLength, 1, 1000);
    }

    [Fact]
    public void Listen_SynWithFin_DroppedAndCounted_NoSynAckNoHalfOpenState()
    {
        RawPeer p = RawPeer.Listening();
        Assert.Empty(p.Send(TcpFlags.Syn | TcpFlags.Fin, new SeqNumber(100), default));
        Assert.Equal(0, p.Listener!.HalfOpenCount);
        Assert.Equal(1, p.Probe[Counter.TcpSynFinDropped]);

        // A plain SYN from the same port is still answered.
        Assert.True(Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(100), default)).Has(TcpFlags.Syn | TcpFlags.Ack));
    }

    [Fact]
    public void Established_InWindowSegmentAckingUnsentDataWithFutureTsval_Rfc7323Sec4_3_TsRecentUnchanged()
    {
        RawPeer p = RawPeer.Established(timestamps: true);
        p.TsVal = 2000;
        p.Send(TcpFlags.Ack, "one"u8);
        p.Probe.Advance(TimeSpan.FromMilliseconds(100)); // the delayed ACK of "one" goes: Last.ACK.sent = RCV.NXT
        uint before = p.Connection!.TsRecent;

        // A blind attacker's guess: in the window, but acknowledging data never sent, TSval far ahead.
        p.TsVal = 2000 + (1u << 30);
        SentSegment answer = Assert.Single(p.Send(TcpFlags.Ack, p.Nxt, p.StackNxt + 100_000, "x"u8));
        Assert.Equal(TcpFlags.Ack, answer.Flags);
        Assert.Equal(1, p.Probe[Counter.TcpAckOfUnsentData]);
        Assert.Equal(before, p.Connection.TsRecent);

        // The real peer's next segment is still accepted: PAWS was not poisoned.
        p.TsVal = 2001;
        p.Send(TcpFlags.Ack, "two"u8);
        Assert.Equal(6, p.Connection.Available);
        Assert.Equal(0, p.Probe[Counter.TcpPawsRejected]);
    }

    // ESTABLISHED, the peer's window closed and 100 bytes waiting: nothing goes until the
    // persist timer (the initial RTO, 1 s) fires; returns what the stack sends then.
    private static (RawPeer Peer, List<SentSegment> AfterOneSecond) WindowClosedWithDataWaiting()
    {
        RawPeer p = RawPeer.Established();
        p.Send(TcpFlags.Ack, p.Nxt, p.StackNxt, default, window: 0);
        p.Connection!.Send(new byte[100], out _);
        Assert.Empty(p.Probe.Poll());
        return (p, p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(1.1))));
    }

    [Fact]
    public void Established_ZeroWindowAdvertised_Rfc1122Sec4_2_2_17_StackProbes()
    {
        (RawPeer p, List<SentSegment> probe) = WindowClosedWithDataWaiting();
        SentSegment one = Assert.Single(probe);
        Assert.Equal(0, one.PayloadLength);
        Assert.Equal(p.StackNxt - 1, one.Seq); // SND.UNA - 1
        Assert.Equal(1, p.Probe[Counter.TcpWindowProbes]);
    }

    [Fact]
    public void ZeroWindow_WindowReopensAroundTheProbe_Rfc1122Sec4_2_2_17_SenderCarriesOn()
    {
        // Regression for a stall: a 1-byte probe not counted as sent, taken by a peer whose window
        // had just reopened, was acknowledged beyond SND.NXT, and that ACK (window update included)
        // was dropped. The probe now carries no data and the peer's answer reopens the window.
        (RawPeer p, List<SentSegment> afterOneSecond) = WindowClosedWithDataWaiting();
        SentSegment probe = Assert.Single(afterOneSecond);
        Assert.Equal(0, probe.PayloadLength); // Linux's probe: SEG.SEQ = SND.UNA - 1, no data
        // The window has reopened: the peer's answer to the probe carries it, and the data follows.
        List<SentSegment> rest = p.Send(TcpFlags.Ack, p.Nxt, probe.Seq + 1, default, window: 65535);
        SentSegment data = Assert.Single(rest);
        Assert.Equal(probe.Seq + 1, data.Seq);
        Assert.Equal(100, data.PayloadLength);
        Assert.Equal(0, p.Probe[Counter.TcpAckOfUnsentData]);
    }

    [Fact]
    public void SynReceived_RstAtRcvNxt_Rfc9293Sec3_10_7_4_HalfOpenConnectionGoneListenerStays()
    {
        RawPeer p = RawPeer.Listening();
        TcpAcceptor listener = p.Listener!;
        p.Send(TcpFlags.Syn, new SeqNumber(100), default);
        Assert.Equal(1, listener.HalfOpenCount);
        Assert.Empty(p.Send(TcpFlags.Rst, new SeqNumber(101), default));
        Assert.Equal(0, listener.HalfOpenCount);
        Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(900), default)); // still listening
    }

    [Fact]
    public void SynSent_RstAcceptingOurSyn_Rfc9293Sec3_10_7_3_ConnectionRefused()
    {
        RawPeer p = RawPeer.Connecting(out SentSegment syn);
        TcpConnection c = p.Connection!;
        Assert.True(syn.Has(TcpFlags.Syn));
        // An RST without ACK is ignored in SYN-SENT; with an ACK of our SYN it refuses.
        p.Send(TcpFlags.Rst, new SeqNumber(0), default);
        Assert.Equal(TcpConnectionState.SynSent, c.State);
        p.Send(TcpFlags.Rst | TcpFlags.Ack, new SeqNumber(0), syn.Seq + 1);
        Assert.Equal(TcpConnectionState.Closed, c.State);
        Assert.Equal(StackError.ConnectionRefused, c.Error);
    }

    [Fact]
    public void SynSent_AckOfSomethingElse_Rfc9293Sec3_10_7_3_ResetSentStaysSynSent()
    {
        RawPeer p = RawPeer.Connecting(out SentSegment syn);
        TcpConnection c = p.Connection!;
        SentSegment rst = Assert.Single(p.Send(TcpFlags.Syn | TcpFlags.Ack, new SeqNumber(7), syn.Seq + 1000));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(syn.Seq + 1000, rst.Seq); // <SEQ=SEG.ACK><CTL=RST>
        Assert.Equal(TcpConnectionState.SynSent, c.State);
    }

    [Fact]
    public void SimultaneousOpen_Rfc9293Figure8_SynReceivedThenEstablished()
    {
        RawPeer p = RawPeer.Connecting(out SentSegment syn);
        TcpConnection c = p.Connection!;
        // The peer's own SYN (no ACK) crosses ours.
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(3000), default));
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(TcpConnectionState.SynReceived, c.State);
        p.Send(TcpFlags.Syn | TcpFlags.Ack, new SeqNumber(3000), syn.Seq + 1);
        p.Send(TcpFlags.Ack, new SeqNumber(3001), syn.Seq + 1);
        Assert.Equal(TcpConnectionState.Established, c.State);
    }

    [Fact]
    public void Listen_AckSegment_Rfc9293Sec3_10_7_2_ResetWithSeqOfAck()
    {
        RawPeer p = RawPeer.Listening();
        SentSegment rst = Assert.Single(p.Send(TcpFlags.Ack, new SeqNumber(1), new SeqNumber(777)));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNumber(777), rst.Seq);
        Assert.Empty(p.Send(TcpFlags.Rst, new SeqNumber(1), default)); // RST in LISTEN: ignored
    }

    [Fact]
    public void Closed_Syn_Rfc9293Sec3_10_7_1_RstAckWithAckOfSegment()
    {
        var p = new RawPeer(new Probe());
        SentSegment rst = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(41), default, "data"u8));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(new SeqNumber(0), rst.Seq);
        Assert.Equal(new SeqNumber(41 + 1 + 4), rst.Ack); // SEG.SEQ + SEG.LEN
        Assert.Equal(1, p.Probe[Counter.TcpNoConnection]);
    }

    [Fact]
    public void Any_DataOffsetBeyondSegment_DroppedAndCounted()
    {
        var p = new RawPeer(new Probe());
        byte[] packet = p.Build(TcpFlags.Syn, new SeqNumber(1), default);
        packet[20 + 12] = 0xF0; // data offset 15 words = 60 bytes, in a 20-byte segment
        Assert.Empty(p.Probe.Send(packet));
        Assert.Equal(1, p.Probe[Counter.TcpBadHeaderLength]);
    }

    [Fact]
    public void Any_BadChecksum_DroppedAndCounted()
    {
        var p = new RawPeer(new Probe());
        byte[] packet = p.Build(TcpFlags.Syn, new SeqNumber(1), default);
        packet[^1] ^= 0xFF;
        Assert.Empty(p.Probe.Send(packet));
        Assert.Equal(1, p.Probe[Counter.TcpBadChecksum]);
    }

    [Fact]
    public void SynReceived_UnacceptableAck_Rfc9293Sec3_10_7_4_ResetWithSeqOfAck()
    {
        RawPeer p = RawPeer.Listening();
        TcpAcceptor listener = p.Listener!;
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(100), default));
        SentSegment rst = Assert.Single(p.Send(TcpFlags.Ack, new SeqNumber(101), synAck.Seq + 50));
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(synAck.Seq + 50, rst.Seq);
        Assert.Equal(0, listener.PendingCount);
    }

    [Fact]
    public void CloseWait_MoreText_Rfc9293Sec3_10_7_4_Ignored()
    {
        // "This should not occur, since a FIN has been received from the remote side. Ignore the segment text."
        RawPeer p = RawPeer.InState(TcpConnectionState.CloseWait);
        p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt, p.StackNxt, "late"u8);
        Assert.Equal(0, p.Connection!.Available);
        Assert.Equal(TcpConnectionState.CloseWait, p.Connection.State);
    }

    [Fact]
    public void Established_GroCoalescedSegmentLargerThanMss_AcceptedWithoutChange()
    {
        // The offload issue will hand the stack GRO-coalesced segments bigger than the MSS; the
        // engine already takes any in-window segment whole (here over a 65,535-byte MTU link).
        RawPeer p = RawPeer.Listening(mtu: 65535);
        TcpOptions o = TcpOptions.None;
        o.Mss = 1460;
        o.WindowScale = 7;
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, new SeqNumber(1), default, options: o));
        TcpConnection c = p.CompleteHandshake(synAck);
        var big = new byte[30_000];
        new Random(1).NextBytes(big);
        SentSegment ack = p.Send(TcpFlags.Ack | TcpFlags.Psh, big).Last();
        Assert.Equal(p.Nxt, ack.Ack);
        var got = new byte[big.Length];
        Assert.Equal(big.Length, c.Receive(got, out _));
        Assert.Equal(big, got);
    }

    [Fact]
    public void TimeWait_RetransmittedFin_Rfc9293Sec3_10_7_4_AckedAndTimerRestarted()
    {
        RawPeer p = RawPeer.InState(TcpConnectionState.TimeWait);
        p.Probe.Advance(TimeSpan.FromSeconds(50));
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Fin | TcpFlags.Ack, p.Nxt - 1, p.StackNxt));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        p.Probe.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(TcpConnectionState.TimeWait, p.Connection!.State);
        p.Probe.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(TcpConnectionState.Closed, p.Connection.State);
    }
}
