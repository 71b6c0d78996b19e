namespace TunStack.Wire;

/// <summary>ICMPv6 types (RFC 4443, RFC 4861, RFC 3810) and codes used by the stack.</summary>
internal static class Icmpv6Type
{
    /// <summary>Destination Unreachable.</summary>
    public const byte DestinationUnreachable = 1;
    /// <summary>Packet Too Big.</summary>
    public const byte PacketTooBig = 2;
    /// <summary>Time Exceeded.</summary>
    public const byte TimeExceeded = 3;
    /// <summary>Parameter Problem.</summary>
    public const byte ParameterProblem = 4;
    /// <summary>Echo Request.</summary>
    public const byte EchoRequest = 128;
    /// <summary>Echo Reply.</summary>
    public const byte EchoReply = 129;
    /// <summary>MLD query (RFC 2710).</summary>
    public const byte MldQuery = 130;
    /// <summary>MLDv1 report.</summary>
    public const byte MldReport = 131;
    /// <summary>MLDv1 done.</summary>
    public const byte MldDone = 132;
    /// <summary>Router Solicitation (RFC 4861).</summary>
    public const byte RouterSolicitation = 133;
    /// <summary>Router Advertisement.</summary>
    public const byte RouterAdvertisement = 134;
    /// <summary>Neighbor Solicitation.</summary>
    public const byte NeighborSolicitation = 135;
    /// <summary>Neighbor Advertisement.</summary>
    public const byte NeighborAdvertisement = 136;
    /// <summary>Redirect.</summary>
    public const byte Redirect = 137;
    /// <summary>MLDv2 report (RFC 3810).</summary>
    public const byte Mldv2Report = 143;

    /// <summary>Destination Unreachable code: address unreachable.</summary>
    public const byte CodeAddressUnreachable = 3;
    /// <summary>Destination Unreachable code: port unreachable.</summary>
    public const byte CodePortUnreachable = 4;
    /// <summary>Time Exceeded code: fragment reassembly time exceeded.</summary>
    public const byte CodeReassemblyTimeExceeded = 1;
    /// <summary>Parameter Problem code: erroneous header field.</summary>
    public const byte CodeErroneousHeader = 0;
    /// <summary>Parameter Problem code: unrecognized Next Header.</summary>
    public const byte CodeUnrecognizedNextHeader = 1;
    /// <summary>Parameter Problem code: unrecognized IPv6 option.</summary>
    public const byte CodeUnrecognizedOption = 2;
    /// <summary>Parameter Problem code: first fragment has an incomplete header chain (RFC 7112).</summary>
    public const byte CodeIncompleteHeaderChain = 3;

    /// <summary>RFC 4443 2.1: types 0-127 are errors.</summary>
    public static bool IsError(byte type) => type < 128;
}
