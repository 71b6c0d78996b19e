namespace TunStack.Wire;

/// <summary>A SACK block (RFC 2018 3): left edge inclusive, right edge exclusive.</summary>
/// <param name="Left">First sequence number of the block.</param>
/// <param name="Right">Sequence number after the block.</param>
internal readonly record struct SackBlock(SeqNumber Left, SeqNumber Right);
