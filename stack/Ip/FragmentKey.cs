namespace TunStack.Ip;

/// <summary>Identifies the datagram a fragment belongs to (RFC 791: src, dst, protocol, ID; RFC 8200: src, dst, ID).</summary>
internal readonly record struct FragmentKey(InternetAddress Source, InternetAddress Destination, uint Identification, byte Protocol);
