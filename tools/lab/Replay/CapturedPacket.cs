namespace TunStack.Lab.Replay;

/// <summary>One packet of a capture: when it was captured (microseconds since the Unix epoch) and its IP packet, the link header removed.</summary>
internal readonly record struct CapturedPacket(long UnixMicroseconds, byte[] Packet);
