namespace TunStack.Lab.Plots;

/// <summary>What the plots use of one TCP flow's trace-FLOW.csv: time (s), cwnd and ssthresh (bytes; ssthresh -1 while infinite), srtt (ms), delivered (cumulative bytes).</summary>
internal sealed record FlowTrace(string Flow, double[] Time, double[] Cwnd, double[] Ssthresh, double[] SrttMs, double[] Delivered)
{
    public static FlowTrace Read(string directory, string flow)
    {
        CsvColumns csv = CsvColumns.Read(Path.Combine(directory, $"trace-{flow}.csv"), "time_s", "cwnd", "ssthresh", "srtt_ms", "delivered");
        return new FlowTrace(flow, csv["time_s"].ToArray(), csv["cwnd"].ToArray(), csv["ssthresh"].ToArray(), csv["srtt_ms"].ToArray(), csv["delivered"].ToArray());
    }
}
