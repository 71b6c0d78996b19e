using TunStack.Ip;

namespace TunStack.Lab.Replay;

/// <summary>What a replay did: packets read, fed and answered, flows, and the stack's counters at the end.</summary>
public sealed class CaptureReplayResult
{
    internal CaptureReplayResult(IReadOnlyList<InternetAddress> addresses) => Addresses = addresses;

    /// <summary>The addresses the stack took (given, or inferred from the capture).</summary>
    public IReadOnlyList<InternetAddress> Addresses { get; }

    /// <summary>IP packets read from the capture.</summary>
    public long PacketsRead { get; internal set; }

    /// <summary>Frames of the capture that carried no IP packet.</summary>
    public long FramesNotIp { get; internal set; }

    /// <summary>Packets addressed to the captured host, fed to the stack at their capture times.</summary>
    public long PacketsFed { get; internal set; }

    /// <summary>Packets the captured host sent: not fed; their payload is what the stack's applications send.</summary>
    public long PacketsFromHost { get; internal set; }

    /// <summary>Packets between other hosts, skipped.</summary>
    public long PacketsSkipped { get; internal set; }

    /// <summary>Packets the stack sent in answer.</summary>
    public long PacketsAnswered { get; internal set; }

    /// <summary>Fed TCP segments whose checksum the capture showed left to offload (only the pseudo-header sum in the field), completed before feeding.</summary>
    public long ChecksumsCompleted { get; internal set; }

    /// <summary>TCP flows whose handshake was in the capture, so the peer's acknowledgments were moved to the stack's sequence numbers.</summary>
    public int FlowsMapped { get; internal set; }

    /// <summary>TCP flows the capture joined after their handshake: their packets went to the stack unchanged.</summary>
    public int FlowsUnmapped { get; internal set; }

    /// <summary>Payload bytes the stack's connections received in order.</summary>
    public long BytesReceived { get; internal set; }

    /// <summary>Payload bytes the stack's applications sent (the captured host's data).</summary>
    public long BytesSent { get; internal set; }

    /// <summary>Virtual time from the first packet to the end of the run.</summary>
    public TimeSpan Duration { get; internal set; }

    /// <summary>The stack's counters that are not zero, in the order of <see cref="Counter"/>.</summary>
    public IReadOnlyList<KeyValuePair<Counter, long>> Counters { get; internal set; } = Array.Empty<KeyValuePair<Counter, long>>();
}
