namespace TunStack.Lab;

/// <summary>One direction of a link: its rate, delay, impairments and output queue.</summary>
internal sealed record LabChannelSpec
{
    /// <summary>Serialization rate in bits per second; 0 means no rate limit.</summary>
    public long RateBitsPerSecond { get; init; }

    public long DelayMicros { get; init; }

    /// <summary>Each packet's delay varies uniformly within plus or minus this.</summary>
    public long JitterMicros { get; init; }

    public LabLossSpec Loss { get; init; } = LabLossSpec.None;

    public double Duplicate { get; init; }

    public double Reorder { get; init; }

    /// <summary>Extra delay of a reordered packet.</summary>
    public long ReorderDelayMicros { get; init; } = 10_000;

    public LabQueueSpec Queue { get; init; } = LabQueueSpec.Default;

    /// <summary>Mark CE instead of dropping ECN-capable packets where the queue would drop them early.</summary>
    public bool EcnMarking { get; init; }
}
