// The whole stack: IP input, ICMP, UDP and TCP (RFC 9293 3.10.7 arrival order, 3.10 user calls,
// timers) together, driven by a sequence of packets, application calls and clock steps.
using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// A whole stack on the virtual clock with a listener and an established connection, fed a
/// sequence of operations decoded from the input (<see cref="StackInputBuilder"/> writes them).
/// The first byte is the shape (<see cref="StackUnderFuzz"/>'s bits; <see cref="ShapeReadOnRequest"/>
/// makes the application read only when told, so that the receive buffer can fill). Each
/// operation is a byte whose low three bits say what it is:
/// <list type="bullet">
/// <item>0, 1: a segment from the connection's peer (flags, sequence and acknowledgment offsets,
/// window, data length, urgent pointer, options); 1 sends it as the peer's next in-order segment.
/// Its data is always the stream pattern at its sequence number, so what the application reads
/// can be checked.</item>
/// <item>2: a raw packet (length-prefixed) with its checksums repaired unless bits 3-4 say
/// otherwise; one from the connection's peer address is moved to another address, so that only
/// pattern data reaches the connection.</item>
/// <item>3: the clock moves on (a squared byte, times 4 ms: up to 260 s).</item>
/// <item>4: an application call on the connection (bits 3-5: read, read a little, send, send
/// urgent, shutdown, close, abort, set no-delay), or with bit 6 a connection opened to the
/// other peer address (bit 7: which of two), whose answers come as raw packets.</item>
/// <item>5: an ICMP error quoting the connection (type, code, MTU, a sequence offset).</item>
/// <item>6, 7: the packets sent so far arrive (one receive batch) and the stack polls.</item>
/// </list>
/// Invariants are checked after every poll (<see cref="StackUnderFuzz.CheckInvariants"/>) and at
/// the end, when everything is closed and the clock runs out (<see cref="StackUnderFuzz.TearDown"/>).
/// </summary>
internal static class StackTarget
{
    public const byte ShapeReadOnRequest = 0x80;
    private const int MaxOperations = 256;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        byte shape = reader.Byte();
        var stack = new StackUnderFuzz(shape, establish: true, readOnPoll: (shape & ShapeReadOnRequest) == 0);
        int queued = 0;
        for (int n = 0; n < MaxOperations && reader.Remaining > 0; n++)
        {
            byte op = reader.Byte();
            switch (op & 7)
            {
                case 0:
                case 1:
                    queued += PeerSegment(stack, op, ref reader);
                    break;
                case 2:
                    queued += RawPacket(stack, op, ref reader);
                    break;
                case 3:
                    int step = reader.Byte();
                    stack.Advance(TimeSpan.FromMilliseconds(step * step * 4));
                    queued = 0;
                    break;
                case 4:
                    ApplicationCall(stack, op, ref reader);
                    break;
                case 5:
                    queued += IcmpError(stack, op, ref reader);
                    break;
                default:
                    stack.Poll();
                    queued = 0;
                    break;
            }

            if (queued >= 8)
            {
                stack.Poll();
                queued = 0;
            }
        }

        stack.Poll();
        stack.TearDown();
    }

    private static int PeerSegment(StackUnderFuzz stack, byte op, ref FuzzInputReader reader)
    {
        var flags = (TcpFlags)reader.Byte();
        short seqOffset = (short)reader.UInt16();
        byte ackChoice = reader.Byte();
        short ackOffset = (short)reader.UInt16();
        ushort window = reader.UInt16();
        int dataLength = reader.UInt16() % 1401;
        ushort urgentPointer = (op & 8) != 0 ? reader.UInt16() : (ushort)0;
        ReadOnlySpan<byte> options = reader.Bytes((op >> 4) * 2);
        TcpConnection? connection = stack.Connection;
        if (connection is null)
        {
            return 0;
        }

        bool inOrder = (op & 1) != 0;
        SeqNumber seq = inOrder ? stack.PeerNxt : stack.PeerNxt + seqOffset;
        // The acknowledgment counts from SND.UNA or from the highest sequence the stack sent.
        SeqNumber ack = ((ackChoice & 1) != 0 ? connection.Sender.Max : connection.Sender.Una) + ackOffset;
        if ((ackChoice & 2) != 0)
        {
            stack.PeerTsVal += (uint)(ackChoice >> 2);
        }

        stack.Send(stack.PeerSegment(flags, seq, ack, window, options, dataLength, urgentPointer));
        if (inOrder)
        {
            stack.PeerNxt = seq + dataLength + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        }

        return 1;
    }

    private static int RawPacket(StackUnderFuzz stack, byte op, ref FuzzInputReader reader)
    {
        int length = reader.UInt16() % 1501;
        byte[] packet = reader.Bytes(length).ToArray();
        if (packet.Length >= Ipv4Packet.MinHeaderLength && packet[0] >> 4 == 4 && InternetAddress.FromV4(packet.AsSpan(12, 4)) == StackUnderFuzz.PeerV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), StackUnderFuzz.OtherV4.V4);
        }

        ChecksumRepair.Apply(packet, header: (op & 8) == 0, transport: (op & 16) == 0);
        stack.Send(packet);
        return 1;
    }

    private static void ApplicationCall(StackUnderFuzz stack, byte op, ref FuzzInputReader reader)
    {
        if ((op & StackInputBuilder.CallConnect) != 0)
        {
            stack.Connect(op >> 7);
            stack.Poll();
            return;
        }

        TcpConnection? connection = stack.Connection;
        switch ((op >> 3) & 7)
        {
            case 0:
                stack.Read();
                break;
            case 1:
                stack.Read(limit: 100);
                break;
            case 2:
                int length = reader.UInt16() % 20_000;
                connection?.Send(new byte[length], out _);
                break;
            case 3:
                connection?.SendUrgent(reader.Byte(), out _);
                break;
            case 4:
                connection?.Shutdown();
                break;
            case 5:
                connection?.Close();
                break;
            case 6:
                connection?.Abort();
                break;
            default:
                if (connection is not null)
                {
                    connection.NoDelay = !connection.NoDelay;
                }

                break;
        }

        stack.Poll();
    }

    // RFC 792 / RFC 1191 / RFC 5927: an error from a router on the path, quoting the IPv4 header and
    // the first 8 bytes of a segment the stack sent on the connection.
    private static int IcmpError(StackUnderFuzz stack, byte op, ref FuzzInputReader reader)
    {
        byte type = (op >> 3) switch
        {
            0 => Icmpv4Type.DestinationUnreachable,
            1 => Icmpv4Type.TimeExceeded,
            2 => Icmpv4Type.ParameterProblem,
            3 => Icmpv4Type.SourceQuench,
            _ => (byte)(op >> 3),
        };
        byte code = reader.Byte();
        ushort mtu = reader.UInt16();
        short seqOffset = (short)reader.UInt16();
        TcpConnection? connection = stack.Connection;
        if (connection is null)
        {
            return 0;
        }

        var quotedTcp = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(quotedTcp, StackUnderFuzz.ListenPort);
        BinaryPrimitives.WriteUInt16BigEndian(quotedTcp.AsSpan(2), StackUnderFuzz.PeerPort);
        BinaryPrimitives.WriteUInt32BigEndian(quotedTcp.AsSpan(4), (connection.Sender.Una + seqOffset).Value);
        byte[] quote = PeerPackets.Ipv4(StackUnderFuzz.StackV4, StackUnderFuzz.PeerV4, IpProtocol.Tcp, quotedTcp);
        InternetAddress router = StackUnderFuzz.OtherV4;
        byte[] message = PeerPackets.Icmp(router, StackUnderFuzz.StackV4, type, code, mtu, quote);
        stack.Send(PeerPackets.Ipv4(router, StackUnderFuzz.StackV4, IpProtocol.Icmp, message));
        return 1;
    }

    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        yield return ("data-in-order-then-read", new StackInputBuilder(StackUnderFuzz.ShapeTimestamps | StackUnderFuzz.ShapeSack)
            .InOrder(TcpFlags.Ack | TcpFlags.Psh, 1000).InOrder(TcpFlags.Ack, 1400).Deliver().AdvanceClock(20).Input);
        yield return ("hole-then-fill", new StackInputBuilder(StackUnderFuzz.ShapeSack)
            .Segment(TcpFlags.Ack, 1000, 500).Segment(TcpFlags.Ack, 2000, 500).Deliver().InOrder(TcpFlags.Ack, 1000).Deliver().Input);
        yield return ("peer-closes", new StackInputBuilder(0)
            .InOrder(TcpFlags.Ack, 100).InOrder(TcpFlags.Fin | TcpFlags.Ack, 0).Deliver().Call(StackInputBuilder.CallClose).AdvanceClock(50).Input);
        yield return ("application-sends-peer-acks-with-loss", new StackInputBuilder(StackUnderFuzz.ShapeSack | StackUnderFuzz.ShapeTimestamps)
            .Call(StackInputBuilder.CallSend, 6000).Ack(1448).Deliver().Ack(0).Ack(0).Ack(0).Deliver().AdvanceClock(3).Ack(4552).Deliver().Input);
        yield return ("retransmission-timeout", new StackInputBuilder(StackUnderFuzz.ShapeNewReno)
            .Call(StackInputBuilder.CallSend, 3000).AdvanceClock(40).AdvanceClock(80).Ack(3000).Deliver().Input);
        yield return ("receive-buffer-fills", new StackInputBuilder(StackTarget.ShapeReadOnRequest | StackUnderFuzz.ShapeTightMemory)
            .Repeat(b => b.InOrder(TcpFlags.Ack, 1400), 14).Deliver().Call(StackInputBuilder.CallReadSome).Call(StackInputBuilder.CallRead).Input);
        yield return ("urgent-byte", new StackInputBuilder(0)
            .InOrder(TcpFlags.Ack | TcpFlags.Urg, 10, urgentPointer: 5).Deliver().Call(StackInputBuilder.CallRead).Input);
        yield return ("reset-in-window", new StackInputBuilder(0).Segment(TcpFlags.Rst, 0, 0).Deliver().Input);
        yield return ("fragmentation-needed", new StackInputBuilder(0)
            .Call(StackInputBuilder.CallSend, 3000).IcmpError(Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodeFragmentationNeeded, 576).Deliver().AdvanceClock(30).Input);
        InternetAddress other = StackUnderFuzz.OtherV4, stack = StackUnderFuzz.StackV4;
        var syn = new TcpHeader { SourcePort = 41000, DestinationPort = StackUnderFuzz.ListenPort, SequenceNumber = new SeqNumber(9), Flags = TcpFlags.Syn, Window = 8192 };
        var mss = TcpOptions.None;
        mss.Mss = 1200;
        yield return ("second-client-syn", new StackInputBuilder(0)
            .Raw(PeerPackets.Ipv4(other, stack, IpProtocol.Tcp, PeerPackets.TcpSegment(other, stack, syn, mss, default))).Deliver().AdvanceClock(255).Input);
        // RFC 9293 3.10.7.3: the stack's own open, answered by a SYN-ACK from the other peer.
        var synAck = new TcpHeader
        {
            SourcePort = StackUnderFuzz.ActiveOpenPeerPort, DestinationPort = StackUnderFuzz.ActiveOpenPort, SequenceNumber = new SeqNumber(700),
            AcknowledgmentNumber = new SeqNumber(StackUnderFuzz.StackIss + 1), Flags = TcpFlags.Syn | TcpFlags.Ack, Window = 8192,
        };
        var data = synAck with { SequenceNumber = new SeqNumber(701), Flags = TcpFlags.Ack | TcpFlags.Psh };
        yield return ("active-open", new StackInputBuilder(0)
            .Call(StackInputBuilder.CallConnect)
            .Raw(PeerPackets.Ipv4(other, stack, IpProtocol.Tcp, PeerPackets.TcpSegment(other, stack, synAck, mss, default))).Deliver()
            .Raw(PeerPackets.Ipv4(other, stack, IpProtocol.Tcp, PeerPackets.TcpSegment(other, stack, data, TcpOptions.None, "hello"u8))).Deliver().Input);
        yield return ("udp-and-echo", new StackInputBuilder(0)
            .Raw(PeerPackets.Ipv4(other, stack, IpProtocol.Udp, PeerPackets.Udp(other, stack, 7, StackUnderFuzz.UdpPort, "dns"u8)))
            .Raw(PeerPackets.Ipv4(other, stack, IpProtocol.Icmp, PeerPackets.Icmp(other, stack, Icmpv4Type.EchoRequest, 0, 1, "ping"u8))).Deliver().Input);
    }
}
