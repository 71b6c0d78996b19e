namespace TunStack.Ip;

/// <summary>What happened to a fragment.</summary>
internal enum ReassemblyOutcome
{
    /// <summary>Stored; the datagram is still missing pieces.</summary>
    Incomplete,
    /// <summary>The datagram is whole and was written to the output buffer.</summary>
    Complete,
    /// <summary>Dropped (and counted).</summary>
    Dropped,
}
