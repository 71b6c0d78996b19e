using TunStack.Ip;

namespace TunStack.Lab.Replay;

/// <summary>How <see cref="CaptureReplay"/> replays a capture.</summary>
public sealed class CaptureReplayOptions
{
    /// <summary>
    /// The captured host's addresses, which the replaying stack takes. When empty, the destination
    /// of the first TCP SYN in the capture is used (or, without one, of the first TCP or UDP packet).
    /// </summary>
    public IList<InternetAddress> Addresses { get; } = new List<InternetAddress>();

    /// <summary>Virtual time the stack runs on after the capture's last packet, for its timers and retransmissions (default 1 s).</summary>
    public TimeSpan After { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The stack's random seed (initial sequence numbers, ports); the same seed gives the same answers.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Where to write the replay as pcapng (the packets fed to the stack and what it answered); null writes none.</summary>
    public string? OutputPath { get; set; }
}
