namespace TunStack.Lab.Plots;

/// <summary>What the plots use of one link's queue-LINK.csv: time (s) and occupancy (packets).</summary>
internal sealed record QueueTrace(string Link, double[] Time, double[] Packets)
{
    public static QueueTrace Read(string directory, string link)
    {
        CsvColumns csv = CsvColumns.Read(Path.Combine(directory, $"queue-{link}.csv"), "time_s", "packets");
        return new QueueTrace(link, csv["time_s"].ToArray(), csv["packets"].ToArray());
    }
}
