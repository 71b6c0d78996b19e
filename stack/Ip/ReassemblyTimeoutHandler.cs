namespace TunStack.Ip;

/// <summary>Called when a datagram times out with its first fragment present: the quote for ICMP Time Exceeded.</summary>
internal delegate void ReassemblyTimeoutHandler(ReadOnlySpan<byte> firstFragmentQuote, Instant now);
