// What one outgoing segment carries, built by the connection and written by TcpLayer.Send (the
// role of gVisor's tcpFields): one value passed by reference instead of ten arguments.
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// The fields of a segment to send. Its data, if any, is <see cref="DataLength"/> bytes of
/// <see cref="Data"/> at <see cref="DataOffset"/>, copied straight into the segment.
/// </summary>
internal struct OutgoingSegment
{
    public TcpTuple Tuple;
    public SeqNumber Sequence;
    public SeqNumber Acknowledgment;
    public TcpFlags Flags;
    public ushort Window;
    public ushort UrgentPointer;
    public TcpOptions Options;
    public ChunkedBuffer? Data;
    public int DataOffset;
    public int DataLength;

    /// <summary>Leave the checksum partial for the link to complete (the connection's <see cref="TcpConnection.ChecksumOffload"/>).</summary>
    public bool ChecksumOffload;

    /// <summary>Above 0: this is a super-segment the link cuts into segments of this many payload bytes (TSO).</summary>
    public int SegmentSize;

    /// <summary>The ECN field of its IP header: ECT(0) for new data of an ECN connection (RFC 3168 6.1.2), else Not-ECT.</summary>
    public EcnCodepoint Ecn;

    /// <summary>The socket's IPv4 TOS / IPv6 traffic class (IP_TOS, IPV6_TCLASS); its two ECN bits are ignored, <see cref="Ecn"/> fills them.</summary>
    public byte TypeOfService;

    /// <summary>IPv4: leave DF clear (IP_PMTUDISC_DONT, <see cref="TcpConnection.DontFragment"/> off).</summary>
    public bool AllowFragmentation;

    /// <summary>A bare control segment: no window, no options, no data (the RSTs of RFC 9293 3.10.7.1).</summary>
    public static OutgoingSegment Control(TcpTuple tuple, SeqNumber sequence, SeqNumber acknowledgment, TcpFlags flags) => new()
    {
        Tuple = tuple,
        Sequence = sequence,
        Acknowledgment = acknowledgment,
        Flags = flags,
        Options = TcpOptions.None,
    };
}
