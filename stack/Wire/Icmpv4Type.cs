namespace TunStack.Wire;

/// <summary>ICMPv4 types (RFC 792) and codes used by the stack.</summary>
internal static class Icmpv4Type
{
    /// <summary>Echo Reply.</summary>
    public const byte EchoReply = 0;
    /// <summary>Destination Unreachable.</summary>
    public const byte DestinationUnreachable = 3;
    /// <summary>Source Quench (deprecated, RFC 6633).</summary>
    public const byte SourceQuench = 4;
    /// <summary>Redirect.</summary>
    public const byte Redirect = 5;
    /// <summary>Echo Request.</summary>
    public const byte EchoRequest = 8;
    /// <summary>Time Exceeded.</summary>
    public const byte TimeExceeded = 11;
    /// <summary>Parameter Problem.</summary>
    public const byte ParameterProblem = 12;

    /// <summary>Destination Unreachable code: host unreachable.</summary>
    public const byte CodeHostUnreachable = 1;
    /// <summary>Destination Unreachable code: protocol unreachable.</summary>
    public const byte CodeProtocolUnreachable = 2;
    /// <summary>Destination Unreachable code: port unreachable.</summary>
    public const byte CodePortUnreachable = 3;
    /// <summary>Destination Unreachable code: fragmentation needed and DF set.</summary>
    public const byte CodeFragmentationNeeded = 4;
    /// <summary>Time Exceeded code: fragment reassembly time exceeded.</summary>
    public const byte CodeReassemblyTimeExceeded = 1;

    /// <summary>RFC 1122 3.2.2: error messages (as opposed to queries/informational).</summary>
    public static bool IsError(byte type) => type is DestinationUnreachable or SourceQuench or Redirect or TimeExceeded or ParameterProblem;
}
