using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>
/// The test as a raw TCP peer of the stack under test (a <see cref="Probe"/>): it builds segments
/// field by field and reads back every segment the stack answers with. Every test that talks
/// TCP segment by segment builds its segments here.
/// </summary>
internal sealed class RawPeer
{
    public const ushort StackPort = 80, PeerPort = 40000;

    public RawPeer(Probe probe) => Probe = probe;

    public Probe Probe { get; }

    public TcpConnection? Connection { get; set; }

    public TcpAcceptor? Listener { get; set; }

    /// <summary>The peer's next sequence number.</summary>
    public SeqNumber Nxt { get; set; }

    /// <summary>What the peer has received of the stack's sequence space (its RCV.NXT).</summary>
    public SeqNumber StackNxt { get; set; }

    public bool Timestamps { get; private set; }

    public uint TsVal { get; set; } = 1000;

    public uint StackTsVal { get; private set; }

    /// <summary>The peer's source port (several raw peers can share one probe).</summary>
    public ushort SourcePort { get; set; } = PeerPort;

    /// <summary>The stack's port the segments go to: the listener's, or the ephemeral port of a connection the stack opened.</summary>
    public ushort TargetPort { get; set; } = StackPort;

    /// <summary>
    /// A peer of a stack listening on <see cref="StackPort"/> (backlog <paramref name="backlog"/>),
    /// before any segment: the test sends the SYN.
    /// </summary>
    public static RawPeer Listening(Action<StackOptions>? configure = null, int mtu = 1500, int backlog = 8, LinkOffloads offloads = LinkOffloads.None)
    {
        var peer = new RawPeer(new Probe(configure, mtu, offloads));
        peer.Listener = peer.Probe.Stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, StackPort), backlog, out _)!;
        return peer;
    }

    /// <summary>The peer of a connection the stack opens to it (active open), with the stack's SYN in <paramref name="syn"/>.</summary>
    public static RawPeer Connecting(out SentSegment syn)
    {
        var peer = new RawPeer(new Probe());
        TcpConnection connection = peer.Probe.Stack.ConnectTcp(new InternetEndpoint(Probe.PeerV4, PeerPort), out _)!;
        peer.Connection = connection;
        peer.TargetPort = connection.Tuple.Local.Port;
        syn = Assert.Single(peer.Decode(peer.Probe.Poll()));
        return peer;
    }

    public byte[] Build(TcpFlags flags, SeqNumber seq, SeqNumber ack, ReadOnlySpan<byte> payload = default, ushort window = 65535, TcpOptions? options = null, ushort urgentPointer = 0)
    {
        TcpOptions o = options ?? TcpOptions.None;
        if (options is null && Timestamps && (flags & TcpFlags.Syn) == 0)
        {
            o.HasTimestamps = true;
            o.TimestampValue = TsVal;
            o.TimestampEcho = StackTsVal;
        }

        var optionBytes = new byte[40];
        int optionsLength = o.WriteTo(optionBytes);
        var segment = new byte[20 + optionsLength + payload.Length];
        optionBytes.AsSpan(0, optionsLength).CopyTo(segment.AsSpan(20));
        payload.CopyTo(segment.AsSpan(20 + optionsLength));
        new TcpHeader { SourcePort = SourcePort, DestinationPort = TargetPort, SequenceNumber = seq, AcknowledgmentNumber = ack, Flags = flags, Window = window, UrgentPointer = urgentPointer }
            .WriteTo(segment, optionsLength, Packets.PseudoHeader(Probe.PeerV4, Probe.StackV4, IpProtocol.Tcp, segment.Length));
        return Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Tcp, segment);
    }

    public List<SentSegment> Send(TcpFlags flags, SeqNumber seq, SeqNumber ack, ReadOnlySpan<byte> payload = default, ushort window = 65535, TcpOptions? options = null, ushort urgentPointer = 0)
        => Decode(Probe.Send(Build(flags, seq, ack, payload, window, options, urgentPointer)));

    /// <summary>Sends from the peer's current position, acknowledging everything received.</summary>
    public List<SentSegment> Send(TcpFlags flags, ReadOnlySpan<byte> payload = default)
    {
        List<SentSegment> replies = Send(flags, Nxt, StackNxt, payload);
        Nxt += payload.Length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        return replies;
    }

    /// <summary>A pure ACK of <paramref name="ack"/> from the peer's position, with SACK blocks.</summary>
    public List<SentSegment> Ack(SeqNumber ack, params (SeqNumber Left, SeqNumber Right)[] sacks)
    {
        TcpOptions o = TcpOptions.None;
        foreach ((SeqNumber left, SeqNumber right) in sacks)
        {
            o.AddSack(new SackBlock(left, right));
        }

        return Send(TcpFlags.Ack, Nxt, ack, options: o);
    }

    public List<SentSegment> Decode(List<byte[]> packets)
    {
        var result = new List<SentSegment>();
        foreach (byte[] p in packets)
        {
            Assert.True(Ipv4Packet.TryCreate(p, out Ipv4Packet ip));
            if (ip.Protocol != IpProtocol.Tcp)
            {
                continue;
            }

            Assert.True(TcpSegment.TryCreate(ip.Payload, out TcpSegment s));
            Assert.True(s.IsChecksumValid(InternetChecksum.PseudoHeaderV4(ip.Source, ip.Destination, IpProtocol.Tcp, ip.Payload.Length)));
            TcpOptions o = TcpOptions.Parse(s.Options);
            if (o.HasTimestamps)
            {
                StackTsVal = o.TimestampValue;
            }

            result.Add(new SentSegment(s.Flags, s.SequenceNumber, s.AcknowledgmentNumber, s.Payload.Length, s.Window, o) { Ecn = EcnField.Read(p) });
            if ((s.Flags & TcpFlags.Syn) != 0 || (s.SegmentLength > 0 && s.SequenceNumber + s.SegmentLength > StackNxt))
            {
                StackNxt = s.SequenceNumber + s.SegmentLength;
            }
        }

        return result;
    }

    /// <summary>
    /// A connection in ESTABLISHED through a passive open: the stack listens on port 80, the peer
    /// sends SYN with <paramref name="peerIss"/>, the stack answers SYN-ACK, the peer ACKs.
    /// </summary>
    public static RawPeer Established(uint peerIss = 5000, bool timestamps = false, bool sack = false, Action<StackOptions>? configure = null, uint? stackIss = null, LinkOffloads offloads = LinkOffloads.None, TimeSpan handshakeRtt = default)
    {
        RawPeer peer = Listening(configure, offloads: offloads);
        peer.Probe.Stack.FixedTcpIsnForTests = stackIss;
        TcpOptions syn = TcpOptions.None;
        syn.Mss = 1460;
        syn.WindowScale = 0;
        syn.SackPermitted = sack;
        if (timestamps)
        {
            syn.HasTimestamps = true;
            syn.TimestampValue = peer.TsVal;
        }

        peer.Nxt = new SeqNumber(peerIss);
        SentSegment synAck = Assert.Single(peer.Send(TcpFlags.Syn, peer.Nxt, default, options: syn));
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(new SeqNumber(peerIss + 1), synAck.Ack);
        peer.Timestamps = timestamps;
        if (handshakeRtt > TimeSpan.Zero)
        {
            Assert.Empty(peer.Decode(peer.Probe.Advance(handshakeRtt))); // the SYN-ACK's ACK is the stack's first RTT sample
        }

        Assert.Equal(TcpConnectionState.Established, peer.CompleteHandshake(synAck).State);
        return peer;
    }

    /// <summary>
    /// The peer's ACK of the stack's SYN-ACK (which the stack does not answer), and the connection
    /// it completes, taken from the listener.
    /// </summary>
    public TcpConnection CompleteHandshake(SentSegment synAck)
    {
        Nxt = synAck.Ack;
        StackNxt = synAck.Seq + 1;
        Assert.Empty(Send(TcpFlags.Ack));
        Assert.True(Listener!.TryAccept(out TcpConnection? c));
        Connection = c;
        return c!;
    }

    /// <summary>Drives the stack's connection from ESTABLISHED into <paramref name="state"/>.</summary>
    public static RawPeer InState(TcpConnectionState state, uint peerIss = 5000)
    {
        RawPeer p = Established(peerIss);
        switch (state)
        {
            case TcpConnectionState.Established:
                break;
            case TcpConnectionState.CloseWait:
                p.Send(TcpFlags.Fin | TcpFlags.Ack);
                break;
            case TcpConnectionState.LastAck:
                p.Send(TcpFlags.Fin | TcpFlags.Ack);
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                break;
            case TcpConnectionState.FinWait1:
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                break;
            case TcpConnectionState.FinWait2:
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                p.Send(TcpFlags.Ack);
                break;
            case TcpConnectionState.Closing:
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                // The peer's FIN crosses ours: it does not acknowledge our FIN yet.
                p.Send(TcpFlags.Fin | TcpFlags.Ack, p.Nxt, p.StackNxt - 1);
                p.Nxt += 1;
                break;
            case TcpConnectionState.TimeWait:
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                p.Send(TcpFlags.Ack);
                p.Send(TcpFlags.Fin | TcpFlags.Ack);
                break;
        }

        Assert.Equal(state, p.Connection!.State);
        return p;
    }
}
