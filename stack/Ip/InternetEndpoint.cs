namespace TunStack.Ip;

/// <summary>An address and port.</summary>
/// <param name="Address">The address.</param>
/// <param name="Port">The port.</param>
public readonly record struct InternetEndpoint(InternetAddress Address, ushort Port)
{
    /// <inheritdoc/>
    public override string ToString() => Address.IsV6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}
