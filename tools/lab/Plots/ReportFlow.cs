namespace TunStack.Lab.Plots;

/// <summary>One flow of summary.json, as the report shows it; a null number was null or absent in the file.</summary>
internal sealed record ReportFlow(
    string Name,
    string? Kind,
    string? From,
    string? To,
    string? Congestion,
    double? Bytes,
    double? GoodputBps,
    double? Retransmits,
    double? RttP50Ms,
    double? RttP99Ms,
    double? CompletionSeconds)
{
    /// <summary>Whether the flow is TCP (it has a congestion control), so the lab wrote trace-NAME.csv for it.</summary>
    public bool IsTcp => Congestion is not null && Kind != "udp_cbr";
}
