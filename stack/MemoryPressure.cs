namespace TunStack;

/// <summary>Where the stack's TCP memory stands against its marks (Linux tcp_mem's three states).</summary>
public enum MemoryPressure
{
    /// <summary>Below the pressure mark (or back below the low mark after pressure): buffers grow with demand.</summary>
    None,

    /// <summary>Past the pressure mark, until use falls below the low mark: buffers and windows stop growing.</summary>
    Pressure,

    /// <summary>At the limit: no chunk is handed out; new data is refused (a zero window) rather than memory growing.</summary>
    Exhausted,
}
