namespace TunStack.Wire;

/// <summary>
/// The ECN field of an IP header: the two low bits of the IPv4 TOS byte and of the IPv6 Traffic
/// Class (RFC 3168 5).
/// </summary>
public enum EcnCodepoint : byte
{
    /// <summary>00: the sender does not use ECN.</summary>
    NotEct = 0,

    /// <summary>01: ECN-capable transport, ECT(1).</summary>
    Ect1 = 1,

    /// <summary>10: ECN-capable transport, ECT(0) (what RFC 3168 senders set).</summary>
    Ect0 = 2,

    /// <summary>11: Congestion Experienced, set by a router instead of dropping.</summary>
    CongestionExperienced = 3,
}
