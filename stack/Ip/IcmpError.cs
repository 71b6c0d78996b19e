namespace TunStack.Ip;

/// <summary>An ICMP error about a datagram the stack sent, decoded from its quote.</summary>
internal readonly record struct IcmpError(StackError Error, InternetAddress ReportedBy, InternetAddress QuotedSource, InternetAddress QuotedDestination, byte QuotedProtocol, int Mtu);
