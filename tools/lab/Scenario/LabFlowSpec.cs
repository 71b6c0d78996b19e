namespace TunStack.Lab;

/// <summary>A flow of a scenario: a client application on <see cref="From"/> talking to a server on <see cref="To"/>.</summary>
internal sealed class LabFlowSpec
{
    public required string Name { get; init; }

    public required LabFlowKind Kind { get; init; }

    public required string From { get; init; }

    public required string To { get; init; }

    /// <summary>Use the hosts' IPv6 addresses.</summary>
    public bool V6 { get; init; }

    public required ushort Port { get; init; }

    /// <summary>Congestion control of the client's connection (TCP flows); null for UDP.</summary>
    public string? Congestion { get; init; }

    public long StartMicros { get; init; }

    /// <summary>When the client stops sending (new data, requests); the run's end when not given.</summary>
    public long? StopMicros { get; init; }

    /// <summary>Bulk: bytes to send; null to send until <see cref="StopMicros"/>.</summary>
    public long? Bytes { get; init; }

    public long RequestBytes { get; init; }

    public long ResponseBytes { get; init; }

    /// <summary>Request/response: how many; null for as many as fit before the stop.</summary>
    public long? Count { get; init; }

    /// <summary>Request/response: time between request starts; 0 for back to back.</summary>
    public long IntervalMicros { get; init; }

    public long OnMicros { get; init; }

    public long OffMicros { get; init; }

    /// <summary>UDP: datagram rate in bits per second (payload).</summary>
    public long RateBitsPerSecond { get; init; }

    /// <summary>UDP: payload bytes per datagram.</summary>
    public int PacketSize { get; init; }

    /// <summary>The kind's name in scenario files and summaries.</summary>
    public string KindName => KindNames.First(k => k.Kind == Kind).Name;

    public static readonly (string Name, LabFlowKind Kind)[] KindNames =
    {
        ("bulk", LabFlowKind.Bulk), ("rr", LabFlowKind.RequestResponse), ("onoff", LabFlowKind.OnOff), ("udp_cbr", LabFlowKind.UdpConstantBitRate),
    };
}
