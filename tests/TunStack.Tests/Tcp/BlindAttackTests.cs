using System.Buffers.Binary;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>
/// Segments and ICMP errors an off-path attacker forges with random sequence numbers (the floods of
/// perf/attacks), one at a time against a connection: what each draws from the stack and what it counts.
/// </summary>
public class BlindAttackTests
{
    [Fact]
    public void Established_FloodOfOutOfWindowPureAcks_OneAnswerPerHalfSecond_RestSkippedAndCounted()
    {
        RawPeer p = RawPeer.Established();
        int answers = 0;
        for (int i = 0; i < 1000; i++)
        {
            answers += p.Send(TcpFlags.Ack, p.Nxt + 10_000_000 + (i * 7919), p.StackNxt).Count;
        }

        // As Linux's tcp_oow_rate_limited: forged ACKs draw no ACK each (they did, one for one).
        Assert.Equal(1, answers);
        Assert.Equal(1000, p.Probe[Counter.TcpOutOfWindow]);
        Assert.Equal(999, p.Probe[Counter.TcpOutOfWindowAcksSkipped]);
        p.Probe.Advance(TimeSpan.FromMilliseconds(500));
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack, p.Nxt + 10_000_000, p.StackNxt));
        Assert.Equal(p.Nxt, ack.Ack);
        Assert.Equal(TcpConnectionState.Established, p.Connection!.State);
    }

    [Fact]
    public void Established_OutOfWindowDataSegments_EachAnswered()
    {
        RawPeer p = RawPeer.Established();
        int answers = 0;
        for (int i = 0; i < 20; i++)
        {
            answers += p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt + 10_000_000 + (i * 1000), p.StackNxt, new byte[100]).Count;
        }

        // Data with no SYN is no part of an ACK loop: Linux answers each, and so does the stack.
        Assert.Equal(20, answers);
        Assert.Equal(0, p.Probe[Counter.TcpOutOfWindowAcksSkipped]);
    }

    [Fact]
    public void TimeWait_FloodOfOutOfWindowPureAcks_OneAnswerPerHalfSecond()
    {
        RawPeer p = RawPeer.InState(TcpConnectionState.TimeWait);
        int answers = 0;
        for (int i = 0; i < 100; i++)
        {
            answers += p.Send(TcpFlags.Ack, p.Nxt + 10_000_000 + (i * 7919), p.StackNxt).Count;
        }

        Assert.Equal(1, answers);
        Assert.Equal(99, p.Probe[Counter.TcpOutOfWindowAcksSkipped]);
    }

    [Theory]
    [InlineData(TcpConnectionState.Established)]
    [InlineData(TcpConnectionState.TimeWait)]
    public void OpenOrTimeWait_FloodOfOutOfWindowSynAcks_OneAnswerPerHalfSecond(TcpConnectionState state)
    {
        // Linux's tcp_oow_rate_limited: a SYN occupies sequence space yet may be part of an ACK
        // loop, so it is rate-limited as a pure ACK is, by an open connection and by a TIME-WAIT
        // record alike (the record answered every one).
        RawPeer p = state == TcpConnectionState.TimeWait ? RawPeer.InState(state) : RawPeer.Established();
        int answers = 0;
        for (int i = 0; i < 50; i++)
        {
            answers += p.Send(TcpFlags.Syn | TcpFlags.Ack, p.Nxt + 10_000_000 + (i * 7919), p.StackNxt).Count;
        }

        Assert.Equal(1, answers);
        Assert.Equal(49, p.Probe[Counter.TcpOutOfWindowAcksSkipped]);
    }

    [Fact]
    public void TimeWait_OutOfWindowFinsAndData_EachAnswered()
    {
        RawPeer p = RawPeer.InState(TcpConnectionState.TimeWait);
        int answers = 0;
        for (int i = 0; i < 10; i++)
        {
            answers += p.Send(TcpFlags.Ack | TcpFlags.Fin, p.Nxt - 100_000 + (i * 1000), p.StackNxt).Count;
            answers += p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt + 10_000_000 + (i * 1000), p.StackNxt, new byte[10]).Count;
        }

        // A FIN or data occupies sequence space without SYN: no ACK loop, answered each time.
        Assert.Equal(20, answers);
        Assert.Equal(0, p.Probe[Counter.TcpOutOfWindowAcksSkipped]);
    }

    [Fact]
    public void EstablishedWithSack_DataFromBeforeThePeersFirstByte_AckedWithoutDsack()
    {
        RawPeer p = RawPeer.Established(sack: true);
        p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[1000]);
        // A forged segment 100 KB "before" RCV.NXT: serially older, but the peer never sent those
        // numbers (its first byte was 1000 bytes ago); no D-SACK may name them.
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt - 100_000, p.StackNxt, new byte[100]));
        Assert.Equal(p.Nxt, ack.Ack);
        Assert.Equal(0, ack.Options.SackCount);
        Assert.Equal(0, p.Probe[Counter.TcpDsackSent]);

        // A real duplicate of received bytes is still reported (RFC 2883 4.1.1).
        ack = Assert.Single(p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt - 500, p.StackNxt, new byte[500]));
        Assert.Equal(1, ack.Options.SackCount);
        Assert.Equal(p.Nxt - 500, ack.Options.GetSack(0).Left);
        Assert.Equal(1, p.Probe[Counter.TcpDsackSent]);
    }

    [Theory]
    [InlineData(3, 4)] // fragmentation needed
    [InlineData(3, 1)] // host unreachable
    public void Established_IcmpErrorQuotingSequenceNotInFlight_IgnoredAndCounted(byte type, byte code)
    {
        RawPeer p = RawPeer.Established();
        p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[100]);
        int mssBefore = p.Connection!.Mss;
        p.Probe.Send(IcmpErrorQuoting(p, p.StackNxt + 5_000_000, type, code));
        Assert.Equal(1, p.Probe[Counter.TcpIcmpOutOfWindow]);
        Assert.Equal(0, p.Probe[Counter.TcpPathMtuReductions]);
        Assert.Equal(mssBefore, p.Connection.Mss);
        Assert.Equal(TcpConnectionState.Established, p.Connection.State);
    }

    [Fact]
    public void EstablishedIdle_IcmpFragmentationNeededQuotingAnySequence_IgnoredMssKept()
    {
        // Nothing of the stack's in flight: no quoted sequence number can be (RFC 5927 4.1). The
        // range check took [SND.UNA, SND.UNA - 1] for the whole sequence space and let a forged
        // "fragmentation needed" lower the MSS of every idle connection.
        RawPeer p = RawPeer.Established();
        int mssBefore = p.Connection!.Mss;
        p.Probe.Send(IcmpErrorQuoting(p, p.StackNxt, 3, 4));
        p.Probe.Send(IcmpErrorQuoting(p, p.StackNxt + 123_456, 3, 4));
        Assert.Equal(2, p.Probe[Counter.TcpIcmpOutOfWindow]);
        Assert.Equal(0, p.Probe[Counter.TcpPathMtuReductions]);
        Assert.Equal(mssBefore, p.Connection.Mss);
    }

    [Fact]
    public void EstablishedWithDataInFlight_IcmpFragmentationNeededQuotingIt_MssLowered()
    {
        RawPeer p = RawPeer.Established();
        SeqNumber first = p.StackNxt;
        Assert.Equal(1000, p.Connection!.Send(new byte[1000], out _));
        p.Decode(p.Probe.Poll());
        p.Probe.Send(IcmpErrorQuoting(p, first, 3, 4));
        Assert.Equal(0, p.Probe[Counter.TcpIcmpOutOfWindow]);
        Assert.Equal(1, p.Probe[Counter.TcpPathMtuReductions]);
    }

    // An ICMP error from the peer's side about a segment of the stack's with sequence number SEQ.
    private static byte[] IcmpErrorQuoting(RawPeer p, SeqNumber seq, byte type, byte code)
    {
        var tcp = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, p.TargetPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), p.SourcePort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp.AsSpan(4), seq.Value);
        byte[] quote = Packets.Ipv4(Probe.StackV4, Probe.PeerV4, IpProtocol.Tcp, tcp).AsSpan(0, 28).ToArray();
        byte[] icmp = Packets.Icmp(Probe.PeerV4, Probe.StackV4, type, code, code == 4 ? 576u : 0u, quote);
        return Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp, icmp);
    }
}
