namespace TunStack.Ip;

/// <summary>A route: a destination prefix, optionally through a gateway.</summary>
/// <param name="Destination">Destination prefix (0.0.0.0/0 or ::/0 for a default route).</param>
/// <param name="Gateway">Next hop, or null when the destination is on-link.</param>
public sealed record Route(IpPrefix Destination, InternetAddress? Gateway = null)
{
    /// <inheritdoc/>
    public override string ToString() => Gateway is { } g ? $"{Destination} via {g}" : $"{Destination} on-link";
}
