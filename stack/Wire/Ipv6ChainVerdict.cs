namespace TunStack.Wire;

/// <summary>What the extension-header walk concluded (RFC 8200 4.1 processing order).</summary>
internal enum Ipv6ChainVerdict
{
    /// <summary>Reached an upper-layer header (or No Next Header).</summary>
    Ok,
    /// <summary>Malformed or truncated extension header: drop silently and count.</summary>
    Malformed,
    /// <summary>Drop silently because an option said so (action 01, RFC 8200 4.2).</summary>
    DiscardSilently,
    /// <summary>Drop and send ICMPv6 Parameter Problem with <see cref="Ipv6Chain.ProblemCode"/> and <see cref="Ipv6Chain.ProblemPointer"/>.</summary>
    ParameterProblem,
    /// <summary>More extension headers than the walk allows.</summary>
    TooManyHeaders,
}
