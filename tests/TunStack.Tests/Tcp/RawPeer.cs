using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>A segment the stack sent, decoded.</summary>
internal sealed record SentSegment(TcpFlags Flags, SeqNumber Seq, SeqNumber Ack, int PayloadLength, ushort Window, TcpOptions Options)
{
    public bool Has(TcpFlags f) => (Flags & f) == f;
}

/// <summary>
/// The test as a raw TCP peer of the stack under test (a <see cref="Probe"/>): it builds segments
/// field by field and reads back every segment the stack answers with.
/// </summary>
internal sealed class RawPeer
{
    public const ushort StackPort = 80, PeerPort = 40000;

    public RawPeer(Probe probe) => Probe = probe;

    public Probe Probe { get; }

    public TcpConnection? Connection { get; set; }

    public TcpListener? Listener { get; set; }

    /// <summary>The peer's next sequence number.</summary>
    public SeqNumber Nxt { get; set; }

    /// <summary>What the peer has received of the stack's sequence space (its RCV.NXT).</summary>
    public SeqNumber StackNxt { get; set; }

    public bool Timestamps { get; private set; }

    public uint TsVal { get; set; } = 1000;

    public uint StackTsVal { get; private set; }

    /// <summary>The peer's source port (several raw peers can share one probe).</summary>
    public ushort SourcePort { get; set; } = PeerPort;

    public byte[] Build(TcpFlags flags, SeqNumber seq, SeqNumber ack, ReadOnlySpan<byte> payload = default, ushort window = 65535, TcpOptions? options = null)
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
        new TcpHeader { SourcePort = SourcePort, DestinationPort = StackPort, SequenceNumber = seq, AcknowledgmentNumber = ack, Flags = flags, Window = window }
            .WriteTo(segment, optionsLength, Packets.PseudoHeader(Probe.PeerV4, Probe.StackV4, IpProtocol.Tcp, segment.Length));
        return Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Tcp, segment);
    }

    public List<SentSegment> Send(TcpFlags flags, SeqNumber seq, SeqNumber ack, ReadOnlySpan<byte> payload = default, ushort window = 65535, TcpOptions? options = null)
        => Decode(Probe.Send(Build(flags, seq, ack, payload, window, options)));

    /// <summary>Sends from the peer's current position, acknowledging everything received.</summary>
    public List<SentSegment> Send(TcpFlags flags, ReadOnlySpan<byte> payload = default)
    {
        List<SentSegment> replies = Send(flags, Nxt, StackNxt, payload);
        Nxt += payload.Length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        return replies;
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

            result.Add(new SentSegment(s.Flags, s.SequenceNumber, s.AcknowledgmentNumber, s.Payload.Length, s.Window, o));
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
    public static RawPeer Established(uint peerIss = 5000, bool timestamps = false, bool sack = false, Action<StackOptions>? configure = null, uint? stackIss = null)
    {
        var peer = new RawPeer(new Probe(configure));
        peer.Probe.Stack.FixedTcpIsnForTests = stackIss;
        peer.Listener = peer.Probe.Stack.ListenTcp(new IpEndpoint(IpAddress.AnyV4, StackPort), 8, out _)!;
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
        peer.Nxt += 1;
        peer.Timestamps = timestamps;
        Assert.Empty(peer.Send(TcpFlags.Ack));
        Assert.True(peer.Listener.TryAccept(out TcpConnection? c));
        peer.Connection = c;
        Assert.Equal(TcpState.Established, c!.State);
        return peer;
    }

    /// <summary>Drives the stack's connection from ESTABLISHED into <paramref name="state"/>.</summary>
    public static RawPeer InState(TcpState state, uint peerIss = 5000)
    {
        RawPeer p = Established(peerIss);
        switch (state)
        {
            case TcpState.Established:
                break;
            case TcpState.CloseWait:
                p.Send(TcpFlags.Fin | TcpFlags.Ack);
                break;
            case TcpState.LastAck:
                p.Send(TcpFlags.Fin | TcpFlags.Ack);
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                break;
            case TcpState.FinWait1:
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                break;
            case TcpState.FinWait2:
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                p.Send(TcpFlags.Ack);
                break;
            case TcpState.Closing:
                p.Connection!.Close();
                p.Decode(p.Probe.Poll());
                // The peer's FIN crosses ours: it does not acknowledge our FIN yet.
                p.Send(TcpFlags.Fin | TcpFlags.Ack, p.Nxt, p.StackNxt - 1);
                p.Nxt += 1;
                break;
            case TcpState.TimeWait:
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
