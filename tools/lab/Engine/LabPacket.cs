namespace TunStack.Lab;

/// <summary>One IP packet moving through the lab's links and routers (a copy of what a stack sent).</summary>
internal sealed class LabPacket
{
    public LabPacket(ReadOnlySpan<byte> data)
    {
        Data = data.ToArray();
    }

    /// <summary>A packet of <paramref name="length"/> zero bytes, for the lab's own packets (ICMP, fragments) to be written into.</summary>
    public LabPacket(int length)
    {
        Data = new byte[length];
    }

    public byte[] Data { get; }

    public int Length => Data.Length;

    /// <summary>When the packet entered the queue it is in (microseconds of virtual time).</summary>
    public long EnqueuedAt { get; set; }

    public LabPacket Copy() => new(Data) { EnqueuedAt = EnqueuedAt };
}
