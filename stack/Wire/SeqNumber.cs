namespace TunStack.Wire;

/// <summary>
/// A TCP sequence number: arithmetic and comparison modulo 2^32 (RFC 9293 3.4, RFC 1982).
/// Raw <see cref="uint"/> comparisons of sequence numbers are bugs; use this type.
/// </summary>
/// <param name="Value">The 32-bit value as carried on the wire.</param>
internal readonly record struct SeqNumber(uint Value)
{
    /// <summary>Advances by a byte count.</summary>
    public static SeqNumber operator +(SeqNumber s, int bytes) => new(unchecked(s.Value + (uint)bytes));

    /// <summary>Advances by a byte count.</summary>
    public static SeqNumber operator +(SeqNumber s, uint bytes) => new(unchecked(s.Value + bytes));

    /// <summary>Moves back by a byte count.</summary>
    public static SeqNumber operator -(SeqNumber s, int bytes) => new(unchecked(s.Value - (uint)bytes));

    /// <summary>The signed distance from <paramref name="b"/> to <paramref name="a"/>, valid for |distance| &lt; 2^31.</summary>
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));

    /// <summary>a precedes b modulo 2^32.</summary>
    public static bool operator <(SeqNumber a, SeqNumber b) => a - b < 0;

    /// <summary>a follows b modulo 2^32.</summary>
    public static bool operator >(SeqNumber a, SeqNumber b) => a - b > 0;

    /// <summary>a precedes or equals b modulo 2^32.</summary>
    public static bool operator <=(SeqNumber a, SeqNumber b) => a - b <= 0;

    /// <summary>a follows or equals b modulo 2^32.</summary>
    public static bool operator >=(SeqNumber a, SeqNumber b) => a - b >= 0;

    /// <summary>The later of two sequence numbers.</summary>
    public static SeqNumber Max(SeqNumber a, SeqNumber b) => a >= b ? a : b;

    /// <summary>The earlier of two sequence numbers.</summary>
    public static SeqNumber Min(SeqNumber a, SeqNumber b) => a <= b ? a : b;

    /// <summary>
    /// RFC 9293 3.4: start &lt;= this &lt; start + size, evaluated modulo 2^32 (a window of size 0 contains nothing).
    /// </summary>
    public bool IsInWindow(SeqNumber start, uint size) => unchecked(Value - start.Value) < size;

    /// <summary>low &lt;= this &lt;= high modulo 2^32.</summary>
    public bool IsBetweenInclusive(SeqNumber low, SeqNumber high) => unchecked(Value - low.Value) <= unchecked(high.Value - low.Value);

    /// <inheritdoc/>
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
