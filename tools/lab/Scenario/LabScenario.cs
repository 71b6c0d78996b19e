namespace TunStack.Lab;

/// <summary>A parsed and checked scenario: what <see cref="LabEngine"/> builds and runs. Times are microseconds.</summary>
internal sealed record LabScenario
{
    public required string Name { get; init; }

    public required int Seed { get; init; }

    public required long DurationMicros { get; init; }

    public required long SampleIntervalMicros { get; init; }

    /// <summary>A trace row after every ACK a traced connection processes, besides the interval samples.</summary>
    public bool TraceEveryAck { get; init; }

    public required IReadOnlyList<LabHostSpec> Hosts { get; init; }

    public required IReadOnlyList<LabRouterSpec> Routers { get; init; }

    public required IReadOnlyList<LabLinkSpec> Links { get; init; }

    public required IReadOnlyList<LabFlowSpec> Flows { get; init; }

    /// <summary>The same scenario with another seed and/or duration (the command line's --seed and --duration).</summary>
    public LabScenario With(int? seed, long? durationMicros)
        => this with { Seed = seed ?? Seed, DurationMicros = durationMicros ?? DurationMicros };
}
