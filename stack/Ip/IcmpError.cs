namespace TunStack.Ip;

/// <summary>An ICMP error about a datagram the stack sent, decoded from its quote.</summary>
internal readonly record struct IcmpError(StackError Error, IpAddress ReportedBy, IpAddress QuotedSource, IpAddress QuotedDestination, byte QuotedProtocol, int Mtu);
