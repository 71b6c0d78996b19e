using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>A segment the stack sent, decoded.</summary>
internal sealed record SentSegment(TcpFlags Flags, SeqNumber Seq, SeqNumber Ack, int PayloadLength, ushort Window, TcpOptions Options)
{
    /// <summary>The ECN field of the segment's IP header.</summary>
    public EcnCodepoint Ecn { get; init; }

    public bool Has(TcpFlags f) => (Flags & f) == f;

    /// <summary>The segments of <paramref name="segments"/> that carry data (pure ACKs and probes left out).</summary>
    public static List<SentSegment> Data(List<SentSegment> segments) => segments.Where(s => s.PayloadLength > 0).ToList();
}
