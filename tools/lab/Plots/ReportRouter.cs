namespace TunStack.Lab.Plots;

/// <summary>One router of summary.json, as the report shows it; a null number was null or absent in the file.</summary>
internal sealed record ReportRouter(
    string Name,
    double? Forwarded,
    double? Unroutable,
    double? Expired,
    double? TooBig,
    double? Fragmented,
    double? IcmpSent);
