namespace TunStack.Perf.Campaign;

/// <summary>What the two applications of one campaign flow do with their connection.</summary>
internal enum CampaignFlowKind
{
    /// <summary>The client sends a stream and closes; the server reads it to the end and closes.</summary>
    Bulk,

    /// <summary>The client sends requests one at a time and reads each echo before the next.</summary>
    RequestResponse,

    /// <summary>The client sends and shuts down its side; the server reads to the end, then answers and closes.</summary>
    HalfClose,

    /// <summary>The client sends a stream and resets the connection part way (linger 0).</summary>
    Abort,

    /// <summary>The server reads a few hundred bytes at a time, every few tens of milliseconds.</summary>
    SlowReader,

    /// <summary>The server reads nothing for seconds, so the window closes and the client probes it.</summary>
    ZeroWindow,

    /// <summary>Many short connections one after the other: connect, one request and its echo, close.</summary>
    ShortConnections,
}
