namespace TunStack.Lab;

/// <summary>Percentiles by the nearest-rank method (the smallest value with at least p% of the values at or below it).</summary>
internal static class LabPercentile
{
    /// <summary>The <paramref name="percent"/>th percentile of <paramref name="sorted"/> (ascending), or null when it is empty.</summary>
    public static double? Of(IReadOnlyList<double> sorted, double percent)
    {
        if (sorted.Count == 0)
        {
            return null;
        }

        int rank = (int)Math.Ceiling(percent / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
