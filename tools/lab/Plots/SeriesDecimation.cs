namespace TunStack.Lab.Plots;

/// <summary>
/// Shortens a long series for plotting without losing its peaks: consecutive samples are grouped
/// into buckets, and each bucket keeps its lowest and highest value (and a gap, NaN, if it has one)
/// in their original order. A sawtooth of a million samples keeps every tooth's top and bottom.
/// </summary>
internal static class SeriesDecimation
{
    /// <summary>Buckets per series; at most three points each.</summary>
    public const int Buckets = 2000;

    public static (double[] Times, double[] Values) Reduce(ReadOnlySpan<double> times, ReadOnlySpan<double> values, int buckets = Buckets)
    {
        int n = Math.Min(times.Length, values.Length);
        if (n <= 2 * buckets)
        {
            return (times[..n].ToArray(), values[..n].ToArray());
        }

        int size = (n + buckets - 1) / buckets;
        var outTimes = new List<double>(3 * buckets);
        var outValues = new List<double>(3 * buckets);
        Span<int> picked = stackalloc int[3];
        for (int start = 0; start < n; start += size)
        {
            int end = Math.Min(n, start + size);
            int low = -1, high = -1, gap = -1;
            for (int i = start; i < end; i++)
            {
                double v = values[i];
                if (double.IsNaN(v))
                {
                    gap = gap < 0 ? i : gap;
                }
                else
                {
                    low = low < 0 || v < values[low] ? i : low;
                    high = high < 0 || v > values[high] ? i : high;
                }
            }

            int count = 0;
            ReadOnlySpan<int> candidates = [low, high, gap];
            foreach (int index in candidates)
            {
                if (index >= 0 && !picked[..count].Contains(index))
                {
                    picked[count++] = index;
                }
            }

            picked[..count].Sort();
            foreach (int index in picked[..count])
            {
                outTimes.Add(times[index]);
                outValues.Add(values[index]);
            }
        }

        return (outTimes.ToArray(), outValues.ToArray());
    }
}
