namespace TunStack.Lab.Plots;

/// <summary>One link of summary.json, as the report shows it; a null number was null or absent in the file.</summary>
internal sealed record ReportLink(
    string Name,
    double? Delivered,
    double? Dropped,
    double? Marked,
    double? QueueDelayP50Ms,
    double? QueueDelayP99Ms);
