// RFC 3168 6.1: Explicit Congestion Notification in TCP. The negotiation in the handshake for
// every pair of TcpSettings.Ecn modes, which segments are ECN-capable, the receiver's ECN-Echo
// until CWR, the sender's one reduction per window with CWR after it, SYN cookies, and software
// GRO keeping a CE mark.
using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class EcnTests
{
    private const int Mss = 1460;

    public static IEnumerable<object[]> ModePairs()
        => from client in Enum.GetValues<TcpEcnMode>() from server in Enum.GetValues<TcpEcnMode>() select new object[] { client, server };

    // RFC 3168 6.1.1: ECN is used when the client's SYN asks (tcp_ecn=1) and the server agrees (1 or 2).
    [Theory]
    [MemberData(nameof(ModePairs))]
    public void Handshake_ClientAndServerModes_NegotiatedOnlyWhenClientRequestsAndServerAccepts(TcpEcnMode client, TcpEcnMode server)
    {
        var net = new TwoStacks();
        net.A.Options.Tcp.Ecn = client;
        net.B.Options.Tcp.Ecn = server;
        (_, TcpConnection a, TcpConnection b) = TcpTests.Connected(net);
        bool expected = client == TcpEcnMode.RequestAndAccept && server != TcpEcnMode.Off;
        Assert.Equal(expected, a.EcnNegotiated);
        Assert.Equal(expected, b.EcnNegotiated);
        Assert.Equal(expected, a.GetInfo().EcnNegotiated);
        Assert.Equal(expected ? 1 : 0, net.A.Counters[Counter.TcpEcnNegotiated]);
        Assert.Equal(expected ? 1 : 0, net.B.Counters[Counter.TcpEcnNegotiated]);

        byte[] data = new byte[200_000];
        new Random(3).NextBytes(data);
        Assert.Equal(data, TcpTests.Transfer(net.Simulation, a, b, data, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void SynSent_RequestAndAccept_SynCarriesEceAndCwrNotEct_RetransmittedSynDoesNotAsk()
    {
        RawPeer peer = Connecting(TcpEcnMode.RequestAndAccept, out SentSegment syn);
        Assert.True(syn.Has(TcpFlags.Syn | TcpFlags.Ece | TcpFlags.Cwr));
        Assert.Equal(EcnCodepoint.NotEct, syn.Ecn);

        SentSegment again = Assert.Single(peer.Decode(peer.Probe.Advance(TimeSpan.FromSeconds(1.1))));
        Assert.True(again.Has(TcpFlags.Syn));
        Assert.Equal(TcpFlags.None, again.Flags & (TcpFlags.Ece | TcpFlags.Cwr)); // RFC 3168 6.1.1.1: fall back
    }

    [Fact]
    public void SynSent_AcceptOnly_SynDoesNotAsk()
    {
        Connecting(TcpEcnMode.AcceptOnly, out SentSegment syn);
        Assert.Equal(TcpFlags.Syn, syn.Flags);
    }

    [Theory]
    [InlineData(0x40, true)]         // ECE
    [InlineData(0x40 | 0x80, false)] // ECE and CWR: RFC 3168 6.1.1 says not an ECN-setup SYN-ACK
    [InlineData(0, false)]
    public void SynSent_SynAckWithFlags_EcnNegotiatedOnlyForEceWithoutCwr(int ecnBits, bool negotiated)
    {
        var ecnFlags = (TcpFlags)ecnBits;
        RawPeer peer = Connecting(TcpEcnMode.RequestAndAccept, out SentSegment syn);
        TcpOptions options = TcpOptions.None;
        options.Mss = Mss;
        peer.Nxt = new SeqNumber(9000);
        SentSegment ack = Assert.Single(peer.Send(TcpFlags.Syn | TcpFlags.Ack | ecnFlags, peer.Nxt, syn.Seq + 1, options: options));
        peer.Nxt += 1;
        Assert.Equal(TcpConnectionState.Established, peer.Connection!.State);
        Assert.Equal(negotiated, peer.Connection.EcnNegotiated);
        Assert.Equal(TcpFlags.Ack, ack.Flags);

        peer.Connection.Send(new byte[100], out _);
        SentSegment data = Assert.Single(peer.Decode(peer.Probe.Poll()));
        Assert.Equal(negotiated ? EcnCodepoint.Ect0 : EcnCodepoint.NotEct, data.Ecn);
    }

    [Theory]
    [InlineData(TcpEcnMode.AcceptOnly, true)]
    [InlineData(TcpEcnMode.RequestAndAccept, true)]
    [InlineData(TcpEcnMode.Off, false)]
    public void Listen_SynAskingForEcn_SynAckCarriesEceOnlyWhenAccepted(TcpEcnMode mode, bool accepted)
    {
        RawPeer peer = RawPeer.Listening(o => o.Tcp.Ecn = mode);
        SentSegment synAck = SendEcnSyn(peer);
        Assert.Equal(accepted ? TcpFlags.Ece : TcpFlags.None, synAck.Flags & (TcpFlags.Ece | TcpFlags.Cwr));
        Assert.Equal(EcnCodepoint.NotEct, synAck.Ecn);
        Assert.Equal(accepted, peer.CompleteHandshake(synAck).EcnNegotiated);
    }

    [Fact]
    public void Listen_SynWithEceOnly_NotAnEcnSetupSyn_SynAckWithoutEce()
    {
        RawPeer peer = RawPeer.Listening();
        TcpOptions options = TcpOptions.None;
        options.Mss = Mss;
        peer.Nxt = new SeqNumber(5000);
        SentSegment synAck = Assert.Single(peer.Send(TcpFlags.Syn | TcpFlags.Ece, peer.Nxt, default, options: options));
        Assert.False(synAck.Has(TcpFlags.Ece));
        Assert.False(peer.CompleteHandshake(synAck).EcnNegotiated);
    }

    // Linux keeps the ECN agreement of a cookie SYN-ACK in the TSval (cookie_init_timestamp); without
    // timestamps it has nowhere to keep it and answers without ECE. So does this stack.
    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void Listen_SynQueueFullAndSynAsksForEcn_CookieSynAckAgreesOnlyWithTimestamps(bool timestamps, bool agreed)
    {
        RawPeer peer = RawPeer.Listening(backlog: 1);
        var blocker = new RawPeer(peer.Probe) { SourcePort = 40001 };
        SendEcnSyn(blocker); // fills the SYN queue of one

        TcpOptions options = TcpOptions.None;
        options.Mss = Mss;
        options.WindowScale = 0;
        if (timestamps)
        {
            options.HasTimestamps = true;
            options.TimestampValue = peer.TsVal;
        }

        peer.Nxt = new SeqNumber(7000);
        SentSegment synAck = Assert.Single(peer.Send(TcpFlags.Syn | TcpFlags.Ece | TcpFlags.Cwr, peer.Nxt, default, options: options));
        Assert.Equal(1, peer.Probe[Counter.TcpSynCookiesSent]);
        Assert.Equal(agreed, synAck.Has(TcpFlags.Ece));

        TcpOptions ackOptions = TcpOptions.None;
        if (timestamps)
        {
            ackOptions.HasTimestamps = true;
            ackOptions.TimestampValue = peer.TsVal + 1;
            ackOptions.TimestampEcho = synAck.Options.TimestampValue;
        }

        peer.Nxt += 1;
        peer.Send(TcpFlags.Ack, peer.Nxt, synAck.Seq + 1, options: ackOptions);
        Assert.Equal(1, peer.Probe[Counter.TcpSynCookiesValid]);
        Assert.True(peer.Listener!.TryAccept(out TcpConnection? connection));
        Assert.Equal(agreed, connection!.EcnNegotiated);
    }

    // RFC 3168 6.1.2 and 6.1.4: data is ECT(0); pure ACKs, the FIN without data and the SYN-ACK are not.
    [Fact]
    public void Established_EcnNegotiated_DataSegmentsEct0_PureAcksAndFinNotEct()
    {
        RawPeer peer = EstablishedWithEcn();
        peer.Connection!.Send(new byte[3 * Mss], out _);
        List<SentSegment> data = peer.Decode(peer.Probe.Poll());
        Assert.Equal(3, data.Count);
        Assert.All(data, s => Assert.Equal(EcnCodepoint.Ect0, s.Ecn));

        SentSegment ack = Assert.Single(peer.Send(TcpFlags.Ack, new byte[500]));
        Assert.Equal(0, ack.PayloadLength);
        Assert.Equal(EcnCodepoint.NotEct, ack.Ecn);

        peer.Connection.Shutdown();
        SentSegment fin = Assert.Single(peer.Decode(peer.Probe.Poll()));
        Assert.True(fin.Has(TcpFlags.Fin));
        Assert.Equal(EcnCodepoint.NotEct, fin.Ecn);
    }

    [Fact]
    public void Established_EcnNotNegotiated_DataSegmentsNotEct_CeMarkNotEchoed()
    {
        RawPeer peer = RawPeer.Established();
        peer.Connection!.Send(new byte[Mss], out _);
        Assert.Equal(EcnCodepoint.NotEct, Assert.Single(peer.Decode(peer.Probe.Poll())).Ecn);

        SentSegment ack = Assert.Single(SendMarked(peer, TcpFlags.Ack, 500, EcnCodepoint.CongestionExperienced));
        Assert.False(ack.Has(TcpFlags.Ece));
        Assert.Equal(0, peer.Probe[Counter.TcpCongestionExperiencedReceived]);
    }

    // RFC 3168 6.1.3: after CE, every ACK carries ECE until a segment with CWR arrives; the CE segment
    // itself is acknowledged at once even when ACKs are otherwise delayed.
    [Fact]
    public void Established_CeMarkedDataWhileAcksDelayed_AckedAtOnceWithEce_EceOnEveryAckUntilCwr()
    {
        RawPeer peer = EstablishedWithEcn();
        QuickAckTests.UseUpQuickAcks(peer);
        Assert.Empty(SendMarked(peer, TcpFlags.Ack, 500, EcnCodepoint.Ect0)); // delayed, as usual
        peer.Probe.Advance(TimeSpan.FromMilliseconds(200));

        SentSegment first = Assert.Single(SendMarked(peer, TcpFlags.Ack, 500, EcnCodepoint.CongestionExperienced));
        Assert.True(first.Has(TcpFlags.Ece));
        Assert.Equal(peer.Nxt, first.Ack);
        Assert.Equal(1, peer.Probe[Counter.TcpCongestionExperiencedReceived]);

        for (int i = 0; i < 3; i++)
        {
            List<SentSegment> replies = SendMarked(peer, TcpFlags.Ack, Mss, EcnCodepoint.Ect0);
            replies.AddRange(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(200))));
            Assert.All(replies, r => Assert.True(r.Has(TcpFlags.Ece)));
        }

        peer.Connection!.Send(new byte[100], out _); // data from the stack echoes too
        Assert.True(Assert.Single(peer.Decode(peer.Probe.Poll())).Has(TcpFlags.Ece));

        SentSegment afterCwr = Assert.Single(SendMarked(peer, TcpFlags.Ack | TcpFlags.Cwr, 500, EcnCodepoint.Ect0));
        Assert.False(afterCwr.Has(TcpFlags.Ece));
        Assert.Equal(1, peer.Probe[Counter.TcpCwrReceived]);
    }

    // RFC 3168 6.1.2: ECE reduces the window once per window of data however many ACKs carry it; the
    // next new data segment carries CWR; ECE for data sent after the reduction reduces again.
    [Fact]
    public void Established_EceOnEveryAckOfAWindow_OneReduction_CwrOnNextNewData_NextWindowReducesAgain()
    {
        RawPeer peer = EstablishedWithEcn();
        TcpConnection c = peer.Connection!;
        c.Send(new byte[40 * Mss], out _);
        List<SentSegment> window = peer.Decode(peer.Probe.Poll());
        Assert.Equal(10, window.Count); // the initial window
        SeqNumber firstWindowEnd = window[^1].Seq + Mss;
        int cwndBefore = c.CongestionWindow;

        var sent = new List<SentSegment>();
        for (int i = 1; i <= window.Count; i++)
        {
            sent.AddRange(peer.Send(TcpFlags.Ack | TcpFlags.Ece, peer.Nxt, window[0].Seq + (i * Mss)));
        }

        Assert.Equal(1, peer.Probe[Counter.TcpEcnEchoReductions]);
        Assert.Equal(0, peer.Probe[Counter.TcpFastRetransmits] + peer.Probe[Counter.TcpRetransmits]);
        Assert.False(c.InRecovery);
        Assert.True(c.SlowStartThreshold < cwndBefore);
        List<SentSegment> newData = SentSegment.Data(sent);
        Assert.NotEmpty(newData);
        Assert.True(newData[0].Has(TcpFlags.Cwr));
        Assert.All(newData.Skip(1), s => Assert.False(s.Has(TcpFlags.Cwr)));
        Assert.All(newData, s => Assert.Equal(EcnCodepoint.Ect0, s.Ecn));
        Assert.Equal(1, peer.Probe[Counter.TcpCwrSent]);
        Assert.True(newData[0].Seq >= firstWindowEnd);

        // Data sent after the reduction is acknowledged with ECE again: a second reduction.
        int ssthresh = c.SlowStartThreshold;
        SeqNumber secondEnd = newData[^1].Seq + Mss;
        peer.Send(TcpFlags.Ack | TcpFlags.Ece, peer.Nxt, secondEnd);
        Assert.Equal(2, peer.Probe[Counter.TcpEcnEchoReductions]);
        Assert.True(c.SlowStartThreshold < ssthresh);
    }

    // RFC 3168 6.1.5: retransmitted data is not ECN-capable.
    [Fact]
    public void Established_DataUnacknowledgedUntilTimeout_RetransmissionNotEct()
    {
        RawPeer peer = EstablishedWithEcn();
        peer.Connection!.Send(new byte[2 * Mss], out _);
        Assert.All(peer.Decode(peer.Probe.Poll()), s => Assert.Equal(EcnCodepoint.Ect0, s.Ecn));

        List<SentSegment> again = SentSegment.Data(peer.Decode(peer.Probe.Advance(TimeSpan.FromSeconds(3))));
        Assert.NotEmpty(again);
        Assert.All(again, s => Assert.Equal(EcnCodepoint.NotEct, s.Ecn));
    }

    // RFC 3168 6.1.2: a window is reduced once whether for ECE or for a loss. The duplicate ACKs
    // carry ECE: the first reduces, the fast retransmit that follows does not reduce again (as
    // Linux's tcp_enter_recovery in CWR state), and the retransmission is not ECN-capable.
    [Fact]
    public void Established_EceThenLossInTheSameWindow_OneReductionOnly_FastRetransmitNotEct()
    {
        RawPeer peer = EstablishedWithEcn();
        TcpConnection c = peer.Connection!;
        c.Send(new byte[10 * Mss], out _);
        List<SentSegment> window = peer.Decode(peer.Probe.Poll());
        var replies = new List<SentSegment>();
        replies.AddRange(peer.Send(TcpFlags.Ack | TcpFlags.Ece, peer.Nxt, window[0].Seq)); // segment 1 lost
        int ssthresh = c.SlowStartThreshold;
        Assert.Equal(1, peer.Probe[Counter.TcpEcnEchoReductions]);
        for (int i = 0; i < 3; i++)
        {
            replies.AddRange(peer.Send(TcpFlags.Ack | TcpFlags.Ece, peer.Nxt, window[0].Seq));
        }

        Assert.True(c.InRecovery);
        Assert.Equal(1, peer.Probe[Counter.TcpEcnEchoReductions]);
        Assert.Equal(ssthresh, c.SlowStartThreshold);
        SentSegment retransmission = Assert.Single(replies, r => r.PayloadLength > 0 && r.Seq == window[0].Seq);
        Assert.Equal(EcnCodepoint.NotEct, retransmission.Ecn);
    }

    // Software GRO merges only segments with the same TOS, ECN field included: a CE segment in a run
    // of ECT(0) ones reaches TCP with its mark (Linux's GRO compares the TOS byte too).
    [Fact]
    public void Established_CeSegmentInsideABatchOfEct0Segments_NotMergedAway_CeEchoed()
    {
        RawPeer peer = EstablishedWithEcn();
        var packets = Enumerable.Range(0, 4).Select(i => Marked(
            peer.Build(TcpFlags.Ack, peer.Nxt + (i * Mss), peer.StackNxt, new byte[Mss]),
            i == 2 ? EcnCodepoint.CongestionExperienced : EcnCodepoint.Ect0)).ToList();
        List<SentSegment> acks = peer.Decode(peer.Probe.SendTogether(packets));
        peer.Nxt += 4 * Mss;
        Assert.Equal(1, peer.Probe[Counter.TcpCongestionExperiencedReceived]);
        Assert.Equal(4 * Mss, peer.Connection!.Available);
        Assert.True(acks[^1].Has(TcpFlags.Ece));
        Assert.True(peer.Probe[Counter.TcpCoalesceRefused] >= 1);
    }

    [Fact]
    public void Established_RunOfCeSegments_MergedAndEchoed()
    {
        RawPeer peer = EstablishedWithEcn();
        var packets = Enumerable.Range(0, 3).Select(i => Marked(
            peer.Build(TcpFlags.Ack, peer.Nxt + (i * Mss), peer.StackNxt, new byte[Mss]), EcnCodepoint.CongestionExperienced)).ToList();
        SentSegment ack = Assert.Single(peer.Decode(peer.Probe.SendTogether(packets)));
        Assert.Equal(2, peer.Probe[Counter.TcpSegmentsCoalesced]);
        Assert.True(ack.Has(TcpFlags.Ece));
    }

    // The peer echoes ECE on its data: a run of such segments merges as Linux's GRO merges it; a
    // segment whose ECE differs from the run's, or one with CWR, does not join it.
    [Theory]
    [InlineData(0x40, 0x40, 0x40, 2)] // ECE, ECE, ECE: one segment
    [InlineData(0x40, 0, 0, 1)]       // ECE, then two without: the two merge
    [InlineData(0, 0x80, 0, 0)]       // CWR in the middle: nothing merges
    public void Established_DataSegmentsWithEceOrCwrInOneBatch_MergedOnlyWhenTheirEcnFlagsAgree(int first, int second, int third, int merged)
    {
        RawPeer peer = EstablishedWithEcn();
        int[] flags = [first, second, third];
        var packets = Enumerable.Range(0, 3).Select(i => peer.Build(TcpFlags.Ack | (TcpFlags)flags[i], peer.Nxt + (i * Mss), peer.StackNxt, new byte[Mss])).ToList();
        peer.Decode(peer.Probe.SendTogether(packets));
        Assert.Equal(merged, peer.Probe[Counter.TcpSegmentsCoalesced]);
        Assert.Equal(3 * Mss, peer.Connection!.Available);
    }

    private static RawPeer Connecting(TcpEcnMode mode, out SentSegment syn)
    {
        var peer = new RawPeer(new Probe(o => o.Tcp.Ecn = mode));
        TcpConnection connection = peer.Probe.Stack.ConnectTcp(new InternetEndpoint(Probe.PeerV4, RawPeer.PeerPort), out _)!;
        peer.Connection = connection;
        peer.TargetPort = connection.Tuple.Local.Port;
        syn = Assert.Single(peer.Decode(peer.Probe.Poll()));
        return peer;
    }

    // The peer's SYN asks for ECN (ECE and CWR, RFC 3168 6.1.1); returns the stack's SYN-ACK.
    private static SentSegment SendEcnSyn(RawPeer peer)
    {
        TcpOptions options = TcpOptions.None;
        options.Mss = Mss;
        options.WindowScale = 0;
        peer.Nxt = new SeqNumber(5000);
        return Assert.Single(peer.Send(TcpFlags.Syn | TcpFlags.Ece | TcpFlags.Cwr, peer.Nxt, default, options: options));
    }

    private static RawPeer EstablishedWithEcn()
    {
        RawPeer peer = RawPeer.Listening();
        SentSegment synAck = SendEcnSyn(peer);
        Assert.True(peer.CompleteHandshake(synAck).EcnNegotiated);
        return peer;
    }

    // Data from the peer's position in an IP header with the given ECN field.
    private static List<SentSegment> SendMarked(RawPeer peer, TcpFlags flags, int length, EcnCodepoint ecn)
    {
        byte[] packet = Marked(peer.Build(flags, peer.Nxt, peer.StackNxt, new byte[length]), ecn);
        peer.Nxt += length;
        return peer.Decode(peer.Probe.Send(packet));
    }

    private static byte[] Marked(byte[] packet, EcnCodepoint ecn)
    {
        packet[1] = (byte)((packet[1] & ~0x03) | (int)ecn);
        packet[10] = 0;
        packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), InternetChecksum.Compute(packet.AsSpan(0, 20)));
        return packet;
    }
}
