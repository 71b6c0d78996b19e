namespace TunStack.Wire;

/// <summary>Why a view refused a buffer. Each value maps to a drop counter.</summary>
internal enum WireError
{
    /// <summary>No error.</summary>
    None,
    /// <summary>Fewer bytes than the fixed header.</summary>
    Truncated,
    /// <summary>The version field is not the expected one.</summary>
    BadVersion,
    /// <summary>A header-length field is below the minimum or beyond the buffer.</summary>
    BadHeaderLength,
    /// <summary>A total/payload length field disagrees with the buffer.</summary>
    BadLength,
    /// <summary>A header option is malformed.</summary>
    BadOption,
}
