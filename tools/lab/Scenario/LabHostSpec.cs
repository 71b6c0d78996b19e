using TunStack.Ip;

namespace TunStack.Lab;

/// <summary>A host of a scenario: one TunStack stack with its addresses and TCP settings.</summary>
internal sealed class LabHostSpec
{
    public required string Name { get; init; }

    public IpPrefix? V4 { get; init; }

    public IpPrefix? V6 { get; init; }

    /// <summary>Congestion control of the host's connections unless a flow names its own.</summary>
    public string Congestion { get; init; } = LabCongestion.Default;

    public long? SendBuffer { get; init; }

    public long? ReceiveBuffer { get; init; }

    public long? SendBufferMax { get; init; }

    public long? ReceiveBufferMax { get; init; }

    public bool? AutoTuneBuffers { get; init; }

    public long? MinRtoMicros { get; init; }

    public long? DelayedAckMicros { get; init; }

    /// <summary>ECN asked for on the host's connections (passed to the stack by <see cref="LabHostSettings"/>).</summary>
    public bool Ecn { get; init; }
}
