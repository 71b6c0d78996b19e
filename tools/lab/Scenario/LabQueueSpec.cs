namespace TunStack.Lab;

/// <summary>A link direction's output queue: its discipline and the parameters that discipline reads.</summary>
internal sealed record LabQueueSpec
{
    public static LabQueueSpec Default { get; } = new();

    public LabQueueKind Kind { get; init; } = LabQueueKind.DropTail;

    /// <summary>Most packets held (all disciplines).</summary>
    public int LimitPackets { get; init; } = 1000;

    /// <summary>Most bytes held (drop-tail only); 0 means no byte limit.</summary>
    public long LimitBytes { get; init; }

    /// <summary>RED: average queue (packets) where early drops begin.</summary>
    public double MinThreshold { get; init; } = 5;

    /// <summary>RED: average queue (packets) from which every arrival is dropped.</summary>
    public double MaxThreshold { get; init; } = 15;

    /// <summary>RED: drop probability as the average reaches <see cref="MaxThreshold"/>.</summary>
    public double MaxP { get; init; } = 0.1;

    /// <summary>RED: weight of each sample in the moving average.</summary>
    public double Weight { get; init; } = 0.002;

    /// <summary>CoDel: acceptable standing queue delay.</summary>
    public long TargetMicros { get; init; } = 5_000;

    /// <summary>CoDel: how long the delay must stay above target before dropping.</summary>
    public long IntervalMicros { get; init; } = 100_000;
}
