using System.Globalization;
using System.Text;

namespace TunStack.Tests.Lab;

/// <summary>
/// A lab output directory written by hand in the lab's file formats: scenario "dumbbell", seed 7,
/// two TCP flows (f1 CUBIC, f2 NewReno) and one link r1-r2 with a queue, sampled every 10 ms.
/// </summary>
internal sealed class SyntheticLabRun : IDisposable
{
    public const string TraceHeader = "time_s,state,cwnd,ssthresh,srtt_ms,rttvar_ms,inflight,delivered,lost,retransmitted,pacing_rate_bps,rwnd";

    public SyntheticLabRun(int samples = 1000)
    {
        Directory = Path.Combine(Path.GetTempPath(), $"tunstack-lab-report-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(Path.Combine(Directory, "summary.json"), Summary);
        WriteTrace("f1", samples, mss: 1448, rttMs: 20);
        WriteTrace("f2", samples, mss: 1448, rttMs: 35);
        WriteQueue("r1-r2", samples);
    }

    public string Directory { get; }

    public string PathOf(string file) => Path.Combine(Directory, file);

    /// <summary>Replaces line <paramref name="line"/> (1-based) of <paramref name="file"/>.</summary>
    public void ReplaceLine(string file, int line, string text)
    {
        string[] lines = File.ReadAllLines(PathOf(file));
        lines[line - 1] = text;
        File.WriteAllLines(PathOf(file), lines);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private const string Summary = """
        {
          "scenario": "dumbbell",
          "seed": 7,
          "duration_s": 10.0,
          "flows": [
            { "name": "f1", "kind": "bulk", "from": "h1", "to": "h3", "congestion": "cubic", "bytes": 61234567, "goodput_bps": 48987653.6,
              "retransmits": 31, "rtt_p50_ms": 24.1, "rtt_p99_ms": 41.5, "completion_s": null },
            { "name": "f2", "kind": "bulk", "from": "h2", "to": "h4", "congestion": "newreno", "bytes": 40000000, "goodput_bps": 32000000.0,
              "retransmits": 17, "rtt_p50_ms": 38.2, "rtt_p99_ms": 55.0, "completion_s": 9.875 }
          ],
          "links": [
            { "name": "r1-r2", "delivered": 70012, "dropped": 48, "marked": 0, "queue_delay_p50_ms": 3.1, "queue_delay_p99_ms": 9.8 }
          ]
        }
        """;

    // A sawtooth: cwnd grows by one segment per sample and halves every 2 s; ssthresh is -1 (infinite)
    // until the first halving. Integer arithmetic and a stream keep a million rows to a second or two.
    private void WriteTrace(string flow, int samples, int mss, int rttMs)
    {
        using var text = new StreamWriter(PathOf($"trace-{flow}.csv"), false, new UTF8Encoding(false), 1 << 16);
        text.Write(TraceHeader + "\n");
        long cwnd = 10 * mss, ssthresh = -1, delivered = 0;
        for (int i = 0; i < samples; i++)
        {
            if (i > 0 && i % 200 == 0)
            {
                ssthresh = cwnd / 2;
                cwnd = ssthresh;
            }

            long srttUs = i == 0 ? 0 : (rttMs * 1000) + (cwnd / mss % 10 * 1000);
            delivered += i == 0 ? 0 : cwnd * 10 / rttMs;
            text.Write(string.Create(CultureInfo.InvariantCulture,
                $"{Time(i)},Established,{cwnd},{ssthresh},{srttUs / 1000}.{srttUs % 1000:D3},{srttUs / 4000}.{srttUs / 4 % 1000:D3},{cwnd},{delivered},{i / 200},{i / 200},0,65535\n"));
            cwnd += mss;
        }
    }

    private void WriteQueue(string link, int samples)
    {
        using var text = new StreamWriter(PathOf($"queue-{link}.csv"), false, new UTF8Encoding(false), 1 << 16);
        text.Write("time_s,packets,bytes,dropped,marked\n");
        for (int i = 0; i < samples; i++)
        {
            int packets = i % 200 / 4;
            text.Write(string.Create(CultureInfo.InvariantCulture, $"{Time(i)},{packets},{packets * 1500},{i / 200 * 3},0\n"));
        }
    }

    // Sample i at i * 10 ms, with the contract's 6 decimals.
    private static string Time(int i) => string.Create(CultureInfo.InvariantCulture, $"{i / 100}.{i % 100:D2}0000");
}
