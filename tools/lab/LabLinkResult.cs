namespace TunStack.Lab;

/// <summary>What one link of a lab run carried, both directions together (a row of summary.json's "links").</summary>
public sealed class LabLinkResult
{
    /// <summary>The link's name in the scenario.</summary>
    public required string Name { get; init; }

    /// <summary>Packets that reached the far end.</summary>
    public long Delivered { get; init; }

    /// <summary>Packets dropped: by the queue, by random loss, or as larger than the MTU.</summary>
    public long Dropped { get; init; }

    /// <summary>Packets the queue marked CE instead of dropping.</summary>
    public long Marked { get; init; }

    /// <summary>Median time a packet spent in the queue, in milliseconds (0 when none passed).</summary>
    public double QueueDelayP50Milliseconds { get; init; }

    /// <summary>99th percentile of the time a packet spent in the queue, in milliseconds (0 when none passed).</summary>
    public double QueueDelayP99Milliseconds { get; init; }
}
