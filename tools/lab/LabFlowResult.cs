namespace TunStack.Lab;

/// <summary>What one flow of a lab run achieved (a row of summary.json's "flows").</summary>
public sealed class LabFlowResult
{
    /// <summary>The flow's name in the scenario.</summary>
    public required string Name { get; init; }

    /// <summary>bulk, rr, onoff or udp_cbr.</summary>
    public required string Kind { get; init; }

    /// <summary>The client host.</summary>
    public required string From { get; init; }

    /// <summary>The server host.</summary>
    public required string To { get; init; }

    /// <summary>Congestion control of the client's connection; null for UDP.</summary>
    public string? Congestion { get; init; }

    /// <summary>Bytes the applications received (both ways for request/response).</summary>
    public long Bytes { get; init; }

    /// <summary>Bytes times 8 over the flow's active time (start to completion, or to its stop or the run's end).</summary>
    public double GoodputBitsPerSecond { get; init; }

    /// <summary>Segments the client retransmitted (0 for UDP).</summary>
    public long Retransmits { get; init; }

    /// <summary>Median of the RTT samples the client connection took (RFC 6298 measurements, one per ACK that gave one), in milliseconds; null without samples.</summary>
    public double? RttP50Milliseconds { get; init; }

    /// <summary>99th percentile of the RTT samples the client connection took, in milliseconds; null without samples.</summary>
    public double? RttP99Milliseconds { get; init; }

    /// <summary>Seconds from the flow's start to its last byte read, for a flow of finite size that finished; else null.</summary>
    public double? CompletionSeconds { get; init; }

    /// <summary>Why the flow broke off (a connection error), or null.</summary>
    public string? Failure { get; init; }
}
