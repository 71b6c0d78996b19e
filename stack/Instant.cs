namespace TunStack;

/// <summary>
/// A point in time as the stack sees it: microseconds since an arbitrary epoch chosen by the host.
/// The core never reads a clock; hosts pass <see cref="Instant"/> values into
/// <see cref="NetworkStack.Poll(Instant)"/> (ARCHITECTURE rule 1: time is an input).
/// </summary>
/// <param name="Microseconds">Microseconds since the host's epoch.</param>
public readonly record struct Instant(long Microseconds) : IComparable<Instant>
{
    /// <summary>The epoch itself.</summary>
    public static Instant Zero => default;

    /// <summary>The latest representable instant; used as "no deadline".</summary>
    public static Instant MaxValue => new(long.MaxValue);

    /// <summary>Creates an instant from milliseconds since the epoch.</summary>
    public static Instant FromMilliseconds(long milliseconds) => new(milliseconds * 1000);

    /// <summary>Milliseconds since the epoch, truncated.</summary>
    public long TotalMilliseconds => Microseconds / 1000;

    /// <summary>Adds a duration.</summary>
    public static Instant operator +(Instant at, TimeSpan by) => new(SaturatingAdd(at.Microseconds, by.Ticks / TimeSpan.TicksPerMicrosecond));

    /// <summary>Subtracts a duration.</summary>
    public static Instant operator -(Instant at, TimeSpan by) => new(at.Microseconds - by.Ticks / TimeSpan.TicksPerMicrosecond);

    /// <summary>The duration between two instants.</summary>
    public static TimeSpan operator -(Instant later, Instant earlier) => TimeSpan.FromTicks((later.Microseconds - earlier.Microseconds) * TimeSpan.TicksPerMicrosecond);

    /// <inheritdoc/>
    public int CompareTo(Instant other) => Microseconds.CompareTo(other.Microseconds);

    /// <summary>Compares two instants.</summary>
    public static bool operator <(Instant a, Instant b) => a.Microseconds < b.Microseconds;

    /// <summary>Compares two instants.</summary>
    public static bool operator >(Instant a, Instant b) => a.Microseconds > b.Microseconds;

    /// <summary>Compares two instants.</summary>
    public static bool operator <=(Instant a, Instant b) => a.Microseconds <= b.Microseconds;

    /// <summary>Compares two instants.</summary>
    public static bool operator >=(Instant a, Instant b) => a.Microseconds >= b.Microseconds;

    /// <summary>The earlier of two instants.</summary>
    public static Instant Min(Instant a, Instant b) => a < b ? a : b;

    /// <inheritdoc/>
    public override string ToString() => $"{Microseconds / 1_000_000}.{Microseconds % 1_000_000:D6}s";

    private static long SaturatingAdd(long a, long b)
    {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (b > 0 ? long.MaxValue : long.MinValue) : r;
    }
}
