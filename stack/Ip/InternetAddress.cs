// Ip/ owns addressing, routing, IPv4/IPv6 input and output, fragmentation, reassembly and ICMP.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace TunStack.Ip;

/// <summary>
/// An IPv4 or IPv6 address as a 17-byte value (no allocation, unlike <see cref="IPAddress"/>).
/// IPv4 addresses keep their family: 10.0.0.1 and ::ffff:10.0.0.1 are different values.
/// </summary>
public readonly struct InternetAddress : IEquatable<InternetAddress>
{
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly bool _isV6;

    private InternetAddress(ulong high, ulong low, bool isV6)
    {
        _high = high;
        _low = low;
        _isV6 = isV6;
    }

    /// <summary>0.0.0.0.</summary>
    public static InternetAddress AnyV4 => default;

    /// <summary>::.</summary>
    public static InternetAddress AnyV6 => new(0, 0, true);

    /// <summary>255.255.255.255.</summary>
    public static InternetAddress BroadcastV4 => FromV4(0xFFFF_FFFF);

    /// <summary>True for IPv6.</summary>
    public bool IsV6 => _isV6;

    /// <summary>True for IPv4.</summary>
    public bool IsV4 => !_isV6;

    /// <summary>The IPv4 address as a big-endian integer (only for IPv4).</summary>
    public uint V4 => (uint)_low;

    /// <summary>An IPv4 address from its big-endian integer.</summary>
    public static InternetAddress FromV4(uint address) => new(0, address, false);

    /// <summary>An IPv4 address from 4 bytes.</summary>
    public static InternetAddress FromV4(ReadOnlySpan<byte> bytes) => FromV4(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    /// <summary>An IPv6 address from 16 bytes.</summary>
    public static InternetAddress FromV6(ReadOnlySpan<byte> bytes)
        => new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), true);

    /// <summary>Converts from the BCL type.</summary>
    public static InternetAddress FromIPAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return written == 4 ? FromV4(bytes) : FromV6(bytes);
    }

    /// <summary>
    /// Parses a full dotted quad or IPv6 text. The inet_aton shorthands that <see cref="IPAddress.TryParse(string?, out IPAddress?)"/>
    /// accepts ("10.1" for 10.0.0.1, hex or octal parts) are refused: a typo should not become an address.
    /// </summary>
    public static bool TryParse(string? text, out InternetAddress address)
    {
        address = default;
        if (text is null || !IPAddress.TryParse(text, out IPAddress? parsed))
        {
            return false;
        }

        if (!text.Contains(':', StringComparison.Ordinal) && !IsDottedQuad(text))
        {
            return false;
        }

        address = FromIPAddress(parsed);
        return true;
    }

    private static bool IsDottedQuad(string text)
    {
        string[] parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)
            && (p.Length == 1 || p[0] != '0') && int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) <= 255);
    }

    /// <summary>Parses dotted-quad or IPv6 text, throwing <see cref="FormatException"/> on bad input.</summary>
    public static InternetAddress Parse(string text) => TryParse(text, out InternetAddress a) ? a : throw new FormatException($"'{text}' is not an IPv4 or IPv6 address.");

    /// <summary>Converts to the BCL type (allocates).</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        int n = WriteTo(bytes);
        return new IPAddress(bytes[..n]);
    }

    /// <summary>The address family.</summary>
    public AddressFamily Family => _isV6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;

    /// <summary>Bytes on the wire: 4 or 16.</summary>
    public int Length => _isV6 ? 16 : 4;

    /// <summary>Writes 4 or 16 bytes; returns the count.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (!_isV6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)_low);
            return 4;
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
        return 16;
    }

    /// <summary>0.0.0.0 or ::.</summary>
    public bool IsUnspecified => _high == 0 && _low == 0;

    /// <summary>224.0.0.0/4 or ff00::/8.</summary>
    public bool IsMulticast => _isV6 ? (_high >> 56) == 0xFF : ((uint)_low >> 28) == 0xE;

    /// <summary>255.255.255.255.</summary>
    public bool IsLimitedBroadcast => !_isV6 && (uint)_low == 0xFFFF_FFFF;

    /// <summary>127.0.0.0/8 or ::1.</summary>
    public bool IsLoopback => _isV6 ? _high == 0 && _low == 1 : ((uint)_low >> 24) == 127;

    /// <summary>fe80::/10.</summary>
    public bool IsLinkLocalV6 => _isV6 && (_high >> 54) == 0x3FA;

    /// <summary>An IPv4-mapped IPv6 address (::ffff:0:0/96).</summary>
    public bool IsV4Mapped => _isV6 && _high == 0 && (_low >> 32) == 0xFFFF;

    /// <summary>The high 64 bits (IPv6) for prefix arithmetic.</summary>
    internal ulong High => _high;

    /// <summary>The low 64 bits (IPv6) or the IPv4 value.</summary>
    internal ulong Low => _low;

    internal static InternetAddress FromParts(ulong high, ulong low, bool isV6) => new(high, low, isV6);

    /// <inheritdoc/>
    public bool Equals(InternetAddress other) => _high == other._high && _low == other._low && _isV6 == other._isV6;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is InternetAddress other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_high, _low, _isV6);

    /// <summary>Equality.</summary>
    public static bool operator ==(InternetAddress a, InternetAddress b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(InternetAddress a, InternetAddress b) => !a.Equals(b);

    /// <inheritdoc/>
    public override string ToString() => ToIPAddress().ToString();
}
