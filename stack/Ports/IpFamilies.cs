namespace TunStack.Ports;

/// <summary>The IP families a port claim covers; a dual-stack IPv6 socket covers both.</summary>
[Flags]
internal enum IpFamilies
{
    /// <summary>Neither.</summary>
    None = 0,
    /// <summary>IPv4.</summary>
    V4 = 1,
    /// <summary>IPv6.</summary>
    V6 = 2,
    /// <summary>IPv4 and IPv6.</summary>
    Both = V4 | V6,
}
