using System.Globalization;

namespace TunStack.Tests.Lab;

/// <summary>A trace-FLOW.csv read back: one row per sample.</summary>
internal sealed record LabTraceFile(List<LabTraceFile.Row> Rows)
{
    public static LabTraceFile Read(string path)
    {
        string[] lines = File.ReadAllLines(path);
        Assert.Equal("time_s,state,cwnd,ssthresh,srtt_ms,rttvar_ms,inflight,delivered,lost,retransmitted,pacing_rate_bps,rwnd", lines[0]);
        var rows = new List<Row>();
        foreach (string line in lines.Skip(1))
        {
            string[] f = line.Split(',');
            rows.Add(new Row(
                double.Parse(f[0], CultureInfo.InvariantCulture), f[1], long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture),
                double.Parse(f[4], CultureInfo.InvariantCulture), long.Parse(f[9], CultureInfo.InvariantCulture)));
        }

        return new LabTraceFile(rows);
    }

    /// <summary>Indexes of the rows where ssthresh changed from the row before (a window reduction), after the first.</summary>
    public List<int> Reductions()
    {
        var at = new List<int>();
        for (int i = 1; i < Rows.Count; i++)
        {
            if (Rows[i].Ssthresh != Rows[i - 1].Ssthresh && Rows[i].Ssthresh != -1)
            {
                at.Add(i);
            }
        }

        return at;
    }

    public sealed record Row(double Time, string State, long Cwnd, long Ssthresh, double SrttMs, long Retransmitted);
}
