using TunStack.Ip;

namespace TunStack.Udp;

/// <summary>
/// Receives a UDP datagram sent to an address the stack does not own (any-address termination):
/// <paramref name="source"/> is the sender, <paramref name="destination"/> where it was sent. Called
/// on the stack's thread; <paramref name="payload"/> is valid only during the call. Answers go back
/// with <see cref="NetworkStack.SendUdp"/> from <paramref name="destination"/>.
/// </summary>
public delegate void UdpForwardHandler(InternetEndpoint source, InternetEndpoint destination, ReadOnlySpan<byte> payload);
