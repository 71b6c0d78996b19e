namespace TunStack.Ip;

/// <summary>
/// Receives an ICMP (or ICMPv6) echo request sent to an address the stack does not own (any-address
/// termination, as <see cref="NetworkStack.IcmpEchoForwarder"/> asks): the sender, where it was sent,
/// its identifier, sequence number and data (valid only during the call). Called on the stack's
/// thread; the answer goes back with <see cref="NetworkStack.SendEchoReply"/> from <paramref name="destination"/>.
/// </summary>
public delegate void IcmpEchoForwardHandler(InternetAddress source, InternetAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data);
