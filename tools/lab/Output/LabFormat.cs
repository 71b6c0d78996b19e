using System.Globalization;

namespace TunStack.Lab;

/// <summary>How the lab's files write numbers: invariant culture, times in seconds with 6 decimals.</summary>
internal static class LabFormat
{
    public static string Seconds(long micros) => (micros / 1e6).ToString("F6", CultureInfo.InvariantCulture);
}
