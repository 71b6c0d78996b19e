// RFC 9293 3.1 (the header), RFC 7323 and RFC 2018 (options), 3.10.7 (segment arrival).
using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// The TCP segment parser and TCP input. The input is a control byte, a shape byte (the options
/// the established connection negotiated, <see cref="StackUnderFuzz"/>'s shape bits), a clock byte
/// and a TCP segment. The segment goes through the view, the options parser and the writers
/// (which must give back what was read), and then, in an IPv4 packet from the peer, into a stack
/// with a listener and an established connection. With <see cref="Relative"/> its sequence and
/// acknowledgment numbers count from the connection's RCV.NXT and SND.UNA, so that mutations land
/// in the window; with <see cref="ToConnection"/> its ports are the connection's.
/// </summary>
internal static class TcpTarget
{
    public const byte KeepChecksum = 1, Relative = 2, ToConnection = 4, ApplicationSends = 8;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        byte control = reader.Byte();
        byte shape = reader.Byte();
        byte clock = reader.Byte();
        byte[] segment = reader.Rest().ToArray();
        CheckView(segment);

        var stack = new StackUnderFuzz(shape, establish: true, patternPeer: false);
        TcpConnection? connection = stack.Connection;
        if (connection is not null && (control & ApplicationSends) != 0)
        {
            connection.Send(new byte[3000], out _);
            stack.Poll();
        }

        if (segment.Length >= TcpSegment.MinHeaderLength)
        {
            if ((control & ToConnection) != 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment, StackUnderFuzz.PeerPort);
                BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), StackUnderFuzz.ListenPort);
            }

            if ((control & Relative) != 0 && connection is not null)
            {
                SeqNumber seq = connection.Receiver.Nxt + (int)BinaryPrimitives.ReadUInt32BigEndian(segment.AsSpan(4));
                SeqNumber ack = connection.Sender.Una + (int)BinaryPrimitives.ReadUInt32BigEndian(segment.AsSpan(8));
                BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), seq.Value);
                BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), ack.Value);
            }
        }

        byte[] packet = PeerPackets.Ipv4(StackUnderFuzz.PeerV4, StackUnderFuzz.StackV4, IpProtocol.Tcp, segment);
        ChecksumRepair.Apply(packet, header: false, transport: (control & KeepChecksum) == 0);
        stack.Deliver(packet);
        if (clock != 0)
        {
            stack.Advance(TimeSpan.FromMilliseconds(clock * clock * 4));
        }

        stack.TearDown();
    }

    private static void CheckView(byte[] bytes)
    {
        bool parsed = TcpHeader.TryParse(bytes, out TcpHeader header);
        bool viewed = TcpSegment.TryCreate(bytes, out TcpSegment segment, out WireError error);
        if (!InvariantViolationException.CheckParsersAgree(viewed, error, parsed, "TCP segment"))
        {
            return;
        }

        InvariantViolationException.Check(segment.HeaderLength is >= TcpSegment.MinHeaderLength and <= TcpSegment.MaxHeaderLength && segment.HeaderLength <= bytes.Length,
            $"TCP header length {segment.HeaderLength} in a {bytes.Length}-byte segment");
        InvariantViolationException.Check(segment.Options.Length + segment.Payload.Length + TcpSegment.MinHeaderLength == bytes.Length, "TCP options and data do not add up to the segment");
        _ = segment.SegmentLength;

        // RFC 7323 2.3: a shift above 14 is taken as 14; at most 4 SACK blocks fit the option space.
        TcpOptions options = TcpOptions.Parse(segment.Options);
        InvariantViolationException.Check(options.WindowScale is >= -1 and <= (sbyte)TcpOptions.MaxWindowScale, $"window scale {options.WindowScale} parsed");
        InvariantViolationException.Check(options.SackCount is >= 0 and <= 4, $"{options.SackCount} SACK blocks parsed");
        for (int i = 0; i < options.SackCount; i++)
        {
            _ = options.GetSack(i);
        }

        // What the options parser read, the writer writes back.
        Span<byte> written = stackalloc byte[64];
        int length = options.WriteTo(written);
        InvariantViolationException.Check(length == options.WrittenLength && length % 4 == 0, $"options writer wrote {length} bytes, said {options.WrittenLength}");
        TcpOptions again = TcpOptions.Parse(written[..length]);
        InvariantViolationException.Check(again == options, $"TCP options {options} written and read back as {again}");

        var rewritten = (byte[])bytes.Clone();
        header.WriteTo(rewritten, segment.Options.Length & ~3, 0);
        rewritten[12] = bytes[12]; // the writer derives Data Offset from the options length it is given
        InvariantViolationException.Check(TcpHeader.TryParse(rewritten, out TcpHeader back) && back == header, $"TCP header {header} written and read back as another");
    }

    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        InternetAddress peer = StackUnderFuzz.PeerV4, stack = StackUnderFuzz.StackV4;
        var syn = TcpOptions.None;
        syn.Mss = 1460;
        syn.WindowScale = 7;
        syn.SackPermitted = true;
        syn.HasTimestamps = true;
        syn.TimestampValue = 1;
        var header = new TcpHeader { SourcePort = 41000, DestinationPort = StackUnderFuzz.ListenPort, SequenceNumber = new SeqNumber(77), Flags = TcpFlags.Syn, Window = 65535 };
        yield return ("syn-to-listener", [0, 0, 0, .. PeerPackets.TcpSegment(peer, stack, header, syn, default)]);

        // Relative numbers: 0 is RCV.NXT and SND.UNA of the established connection.
        var data = new TcpHeader { SequenceNumber = default, AcknowledgmentNumber = default, Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 65535 };
        yield return ("data-in-order", [Relative | ToConnection, 0, 0, .. PeerPackets.TcpSegment(peer, stack, data, TcpOptions.None, "hello"u8)]);
        var ts = TcpOptions.None;
        ts.HasTimestamps = true;
        ts.TimestampValue = 2000;
        yield return ("data-with-timestamps", [Relative | ToConnection, StackUnderFuzz.ShapeTimestamps, 0, .. PeerPackets.TcpSegment(peer, stack, data, ts, "hello"u8)]);
        var ahead = data with { SequenceNumber = new SeqNumber(1000) };
        yield return ("data-out-of-order", [Relative | ToConnection, StackUnderFuzz.ShapeSack, 0, .. PeerPackets.TcpSegment(peer, stack, ahead, TcpOptions.None, "later"u8)]);
        var sack = TcpOptions.None;
        sack.AddSack(new SackBlock(new SeqNumber(StackUnderFuzz.StackIss + 1 + 1000), new SeqNumber(StackUnderFuzz.StackIss + 1 + 2000)));
        var ack = new TcpHeader { AcknowledgmentNumber = new SeqNumber(500), Flags = TcpFlags.Ack, Window = 65535 };
        yield return ("ack-with-sack", [Relative | ToConnection | ApplicationSends, StackUnderFuzz.ShapeSack, 100, .. PeerPackets.TcpSegment(peer, stack, ack, sack, default)]);
        var fin = new TcpHeader { Flags = TcpFlags.Fin | TcpFlags.Ack, Window = 65535 };
        yield return ("fin", [Relative | ToConnection, 0, 200, .. PeerPackets.TcpSegment(peer, stack, fin, TcpOptions.None, default)]);
        var rst = new TcpHeader { Flags = TcpFlags.Rst, Window = 0 };
        yield return ("rst", [Relative | ToConnection, 0, 0, .. PeerPackets.TcpSegment(peer, stack, rst, TcpOptions.None, default)]);
        var urgent = data with { Flags = TcpFlags.Ack | TcpFlags.Urg, UrgentPointer = 3 };
        yield return ("urgent", [Relative | ToConnection, 0, 0, .. PeerPackets.TcpSegment(peer, stack, urgent, TcpOptions.None, "abcdef"u8)]);
        var noListener = header with { DestinationPort = 81, Flags = TcpFlags.Ack };
        yield return ("ack-to-closed-port", [0, 0, 0, .. PeerPackets.TcpSegment(peer, stack, noListener, TcpOptions.None, default)]);
    }
}
