using TunStack.Links;

namespace TunStack.Lab;

/// <summary>A scenario link while it runs: its two directions, its capture, and the queue delays of every packet it sent.</summary>
internal sealed class LabLink : IDisposable
{
    public LabLink(LabLinkSpec spec, int index, int seed, PcapngWriter? capture)
    {
        Spec = spec;
        Capture = capture;
        int baseSeed = unchecked((seed * 1_000_003) + (index * 2) + 1);
        AToB = new LabChannel(spec.AToB, spec.Mtu, baseSeed, capture, CaptureDirection.Outbound, Sojourns);
        BToA = new LabChannel(spec.BToA, spec.Mtu, unchecked(baseSeed + 1), capture, CaptureDirection.Inbound, Sojourns);
    }

    public LabLinkSpec Spec { get; }

    public string Name => Spec.Name;

    /// <summary>Direction a to b (recorded as outbound in the capture).</summary>
    public LabChannel AToB { get; }

    /// <summary>Direction b to a (recorded as inbound in the capture).</summary>
    public LabChannel BToA { get; }

    public PcapngWriter? Capture { get; }

    /// <summary>Queue delay of each packet that left either queue, in microseconds.</summary>
    public List<int> Sojourns { get; } = new();

    public long Delivered => AToB.Delivered + BToA.Delivered;

    public long Dropped => AToB.Dropped + BToA.Dropped;

    public long Marked => AToB.Queue.Marked + BToA.Queue.Marked;

    public int QueuedPackets => AToB.Queue.Count + BToA.Queue.Count;

    public long QueuedBytes => AToB.Queue.Bytes + BToA.Queue.Bytes;

    public void Dispose() => Capture?.Dispose();
}
