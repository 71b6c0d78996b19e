using System.Buffers.Binary;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// Writes inputs for <see cref="StackTarget"/> operation by operation, in the encoding it decodes:
/// the seeds are made here, and so are tests that replay a scenario through the target.
/// </summary>
internal sealed class StackInputBuilder
{
    public const byte CallRead = 0, CallReadSome = 1, CallSend = 2, CallSendUrgent = 3, CallShutdown = 4, CallClose = 5, CallAbort = 6, CallToggleNoDelay = 7;

    /// <summary>The operation bit that makes an application call a connect (<see cref="StackUnderFuzz.Connect"/>).</summary>
    public const byte CallConnect = 0x40;

    private readonly List<byte> _bytes = new();

    public StackInputBuilder(byte shape) => _bytes.Add(shape);

    /// <summary>The input written so far.</summary>
    public byte[] Input => _bytes.ToArray();

    /// <summary>The peer's next in-order segment with <paramref name="dataLength"/> bytes, acknowledging SND.UNA.</summary>
    public StackInputBuilder InOrder(TcpFlags flags, int dataLength, ushort urgentPointer = 0)
        => PeerSegment(1, flags, 0, ackFromHighest: false, 0, dataLength, urgentPointer);

    /// <summary>A segment at RCV.NXT + <paramref name="seqOffset"/> (the peer's position does not move).</summary>
    public StackInputBuilder Segment(TcpFlags flags, short seqOffset, int dataLength)
        => PeerSegment(0, flags, seqOffset, ackFromHighest: false, 0, dataLength, 0);

    /// <summary>A pure ACK of SND.UNA + <paramref name="bytes"/>.</summary>
    public StackInputBuilder Ack(short bytes) => PeerSegment(0, TcpFlags.Ack, 0, ackFromHighest: false, bytes, 0, 0);

    private StackInputBuilder PeerSegment(byte kind, TcpFlags flags, short seqOffset, bool ackFromHighest, short ackOffset, int dataLength, ushort urgentPointer)
    {
        _bytes.Add((byte)(kind | (urgentPointer != 0 ? 8 : 0)));
        _bytes.Add((byte)flags);
        AddUInt16((ushort)seqOffset);
        _bytes.Add(ackFromHighest ? (byte)1 : (byte)0);
        AddUInt16((ushort)ackOffset);
        AddUInt16(65535);
        AddUInt16((ushort)dataLength);
        if (urgentPointer != 0)
        {
            AddUInt16(urgentPointer);
        }

        return this;
    }

    /// <summary>A raw packet, its checksums repaired by the target.</summary>
    public StackInputBuilder Raw(ReadOnlySpan<byte> packet)
    {
        _bytes.Add(2);
        AddUInt16((ushort)packet.Length);
        _bytes.AddRange(packet.ToArray());
        return this;
    }

    /// <summary>The clock moves on by <paramref name="step"/> squared times 4 ms.</summary>
    public StackInputBuilder AdvanceClock(byte step)
    {
        _bytes.Add(3);
        _bytes.Add(step);
        return this;
    }

    /// <summary>An application call (one of the Call constants); <paramref name="argument"/> is the length sent or the urgent byte.</summary>
    public StackInputBuilder Call(byte call, int argument = 0)
    {
        _bytes.Add(call == CallConnect ? (byte)(4 | CallConnect) : (byte)(4 | (call << 3)));
        if (call == CallSend)
        {
            AddUInt16((ushort)argument);
        }
        else if (call == CallSendUrgent)
        {
            _bytes.Add((byte)argument);
        }

        return this;
    }

    /// <summary>An ICMP error of type 3, 11, 12 or 4 quoting the connection at SND.UNA.</summary>
    public StackInputBuilder IcmpError(byte type, byte code, ushort mtu)
    {
        byte selector = type switch
        {
            Icmpv4Type.DestinationUnreachable => 0,
            Icmpv4Type.TimeExceeded => 1,
            Icmpv4Type.ParameterProblem => 2,
            _ => 3,
        };
        _bytes.Add((byte)(5 | (selector << 3)));
        _bytes.Add(code);
        AddUInt16(mtu);
        AddUInt16(0);
        return this;
    }

    /// <summary>What was sent so far arrives, and the stack polls.</summary>
    public StackInputBuilder Deliver()
    {
        _bytes.Add(6);
        return this;
    }

    public StackInputBuilder Repeat(Func<StackInputBuilder, StackInputBuilder> step, int times)
    {
        for (int i = 0; i < times; i++)
        {
            step(this);
        }

        return this;
    }

    private void AddUInt16(ushort value)
    {
        Span<byte> two = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(two, value);
        _bytes.Add(two[0]);
        _bytes.Add(two[1]);
    }
}
