namespace TunStack;

/// <summary>
/// When TCP uses Explicit Congestion Notification (RFC 3168), as Linux's <c>net.ipv4.tcp_ecn</c>
/// with the same numbers: routers on the path may then mark packets Congestion Experienced instead
/// of dropping them, and the sender reduces its window without a loss.
/// </summary>
public enum TcpEcnMode
{
    /// <summary>0: never ask for ECN, and answer a SYN that asks for it without agreeing.</summary>
    Off = 0,

    /// <summary>1: ask for ECN in the SYN of every outgoing connection, and agree when a peer's SYN asks.</summary>
    RequestAndAccept = 1,

    /// <summary>2 (the default, as Linux): agree when a peer's SYN asks for ECN; outgoing connections do not ask.</summary>
    AcceptOnly = 2,
}
