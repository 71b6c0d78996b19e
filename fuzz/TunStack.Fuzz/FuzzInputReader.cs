namespace TunStack.Fuzz;

/// <summary>
/// Reads fields from a fuzz input front to back. Past the end every read yields zeros (or an empty
/// span), so a target decodes any input, however short, without a special case.
/// </summary>
internal ref struct FuzzInputReader
{
    private ReadOnlySpan<byte> _rest;

    public FuzzInputReader(ReadOnlySpan<byte> input) => _rest = input;

    /// <summary>Bytes not read yet.</summary>
    public readonly int Remaining => _rest.Length;

    public readonly bool IsEmpty => _rest.IsEmpty;

    public byte Byte()
    {
        if (_rest.IsEmpty)
        {
            return 0;
        }

        byte value = _rest[0];
        _rest = _rest[1..];
        return value;
    }

    /// <summary>A big-endian 16-bit field.</summary>
    public ushort UInt16() => (ushort)((Byte() << 8) | Byte());

    /// <summary>A big-endian 32-bit field.</summary>
    public uint UInt32() => ((uint)UInt16() << 16) | UInt16();

    /// <summary>Up to <paramref name="count"/> bytes (fewer at the end of the input).</summary>
    public ReadOnlySpan<byte> Bytes(int count)
    {
        count = Math.Clamp(count, 0, _rest.Length);
        ReadOnlySpan<byte> taken = _rest[..count];
        _rest = _rest[count..];
        return taken;
    }

    /// <summary>Everything not read yet.</summary>
    public ReadOnlySpan<byte> Rest() => Bytes(_rest.Length);
}
