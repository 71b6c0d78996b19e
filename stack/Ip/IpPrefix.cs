namespace TunStack.Ip;

/// <summary>A network prefix in CIDR form; also used for an interface address with its on-link prefix.</summary>
/// <param name="Address">The address (host bits may be set for interface addresses).</param>
/// <param name="Length">Prefix length in bits.</param>
public readonly record struct IpPrefix(InternetAddress Address, int Length)
{
    /// <summary>Parses "a.b.c.d/n" or "x::y/n"; without "/n" the prefix is a host prefix (/32 or /128).</summary>
    public static bool TryParse(string? text, out IpPrefix prefix)
    {
        prefix = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        if (!InternetAddress.TryParse(addressText, out InternetAddress address))
        {
            return false;
        }

        int max = address.IsV6 ? 128 : 32;
        int length = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out length) || length > max))
        {
            return false;
        }

        prefix = new IpPrefix(address, length);
        return true;
    }

    /// <summary>Parses CIDR text, throwing <see cref="FormatException"/> with the reason on bad input.</summary>
    public static IpPrefix Parse(string text) => TryParse(text, out IpPrefix p) ? p : throw new FormatException($"'{text}' is not an address with an optional /prefix-length (for example 10.0.0.2/24 or fd00::2/64).");

    /// <summary>True when <paramref name="address"/> is of the same family and inside the prefix.</summary>
    public bool Contains(InternetAddress address)
    {
        if (address.IsV6 != Address.IsV6)
        {
            return false;
        }

        if (!address.IsV6)
        {
            uint mask = Length == 0 ? 0 : uint.MaxValue << (32 - Length);
            return (address.V4 & mask) == (Address.V4 & mask);
        }

        ulong highMask = Length == 0 ? 0 : Length >= 64 ? ulong.MaxValue : ulong.MaxValue << (64 - Length);
        ulong lowMask = Length <= 64 ? 0 : Length == 128 ? ulong.MaxValue : ulong.MaxValue << (128 - Length);
        return (address.High & highMask) == (Address.High & highMask) && (address.Low & lowMask) == (Address.Low & lowMask);
    }

    /// <summary>The IPv4 directed broadcast address of the prefix (all host bits set); only for IPv4 prefixes shorter than /31.</summary>
    public InternetAddress DirectedBroadcast => InternetAddress.FromV4(Address.V4 | (Length == 0 ? uint.MaxValue : ~(uint.MaxValue << (32 - Length))));

    /// <inheritdoc/>
    public override string ToString() => $"{Address}/{Length}";
}
