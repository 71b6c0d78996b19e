using System.Globalization;
using TunStack.Lab;

namespace TunStack.Tests.Lab;

public class LabRunTests
{
    private const int Mss = 1448; // 1500 - 20 (IPv4) - 20 (TCP) - 12 (timestamps)

    private static string TempDirectory(string name) => Path.Combine(Path.GetTempPath(), $"lab-test-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    // One bulk flow from h1 to h2 through a bottleneck r1-r2 of the given rate, one-way delay and drop-tail depth.
    private static string SingleFlow(string congestion, string rate, string delay, int queuePackets, string duration) => $$"""
        {
          "name": "single-{{congestion}}", "seed": 1, "duration": "{{duration}}", "sample_interval": "10ms",
          "hosts": [
            { "name": "h1", "ipv4": "10.5.1.1/24", "tcp": { "send_buffer": "16MiB", "receive_buffer": "16MiB" } },
            { "name": "h2", "ipv4": "10.5.2.1/24", "tcp": { "send_buffer": "16MiB", "receive_buffer": "16MiB" } }
          ],
          "routers": [ { "name": "r1" }, { "name": "r2" } ],
          "links": [
            { "a": "h1", "b": "r1", "rate": "1gbit" },
            { "a": "r1", "b": "r2", "rate": "{{rate}}", "delay": "{{delay}}", "queue": { "packets": {{queuePackets}} } },
            { "a": "r2", "b": "h2", "rate": "1gbit" }
          ],
          "flows": [ { "name": "f", "kind": "bulk", "from": "h1", "to": "h2", "congestion": "{{congestion}}" } ]
        }
        """;

    private static (LabRunResult Result, LabTraceFile Trace) RunSingle(string json)
    {
        string directory = TempDirectory("single");
        try
        {
            LabRunResult result = LabRunner.Run(LabScenarioParser.Parse(json), directory);
            return (result, LabTraceFile.Read(Path.Combine(directory, "trace-f.csv")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("dumbbell")]
    [InlineData("cubic-vs-bbr")]
    [InlineData("lossy-wireless")]
    [InlineData("deep-buffer")]
    public void ShippedScenario_RunTwiceWithSameSeed_EveryOutputFileIdentical(string scenario)
    {
        string path = Path.Combine(RepositoryRoot.Path, "docs", "lab", $"{scenario}.json");
        string first = TempDirectory(scenario), second = TempDirectory(scenario);
        try
        {
            LabRunner.Run(path, first, duration: TimeSpan.FromSeconds(1));
            LabRunner.Run(path, second, duration: TimeSpan.FromSeconds(1));
            string[] files = Directory.GetFiles(first).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
            Assert.Contains("summary.json", files);
            Assert.Contains(files, f => f.StartsWith("trace-", StringComparison.Ordinal));
            Assert.Contains(files, f => f.StartsWith("queue-", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith(".pcapng", StringComparison.Ordinal));
            Assert.Contains("report.html", files);
            Assert.Contains("cwnd.png", files);
            Assert.Contains("queue.svg", files);
            Assert.Equal(files, Directory.GetFiles(second).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
            foreach (string file in files)
            {
                Assert.True(File.ReadAllBytes(Path.Combine(first, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(second, file))), $"{file} differs between two runs");
            }
        }
        finally
        {
            Directory.Delete(first, recursive: true);
            Directory.Delete(second, recursive: true);
        }
    }

    [Fact]
    public void DeepBuffer_BbrAndCubicEachAlone_BbrKeepsTheQueueShortAtNearlyTheRate()
    {
        string path = Path.Combine(RepositoryRoot.Path, "docs", "lab", "deep-buffer.json");
        string directory = TempDirectory("deep-buffer");
        try
        {
            LabRunResult result = LabRunner.Run(path, directory, duration: TimeSpan.FromSeconds(10), report: false);

            LabLinkResult cubicQueue = result.Links.Single(l => l.Name == "cubic-bottleneck");
            LabLinkResult bbrQueue = result.Links.Single(l => l.Name == "bbr-bottleneck");
            // BBR paces at the bottleneck rate and caps its flight near the BDP (draft 4.2.3): the
            // 1000-packet queue that CUBIC fills stays nearly empty.
            Assert.True(bbrQueue.QueueDelayP50Milliseconds * 10 < cubicQueue.QueueDelayP50Milliseconds, $"queue delay p50: bbr {bbrQueue.QueueDelayP50Milliseconds} ms, cubic {cubicQueue.QueueDelayP50Milliseconds} ms");
            LabFlowResult bbr = result.Flows.Single(f => f.Name == "bbr");
            Assert.True(bbr.GoodputBitsPerSecond > 0.8 * 20e6, $"bbr goodput {bbr.GoodputBitsPerSecond / 1e6:0.00} Mbit/s on a 20 Mbit/s path");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Dumbbell_OtherSeedThroughCli_SummaryNamesTheSeedAndFlowsMoveData()
    {
        string path = Path.Combine(RepositoryRoot.Path, "docs", "lab", "dumbbell.json");
        string directory = TempDirectory("cli");
        try
        {
            (int code, string output, string error) = Cli.InProcessCli.Run("lab", "run", path, "--out", directory, "--seed", "7", "--duration", "2s");
            Assert.True(code == 0, error);
            Assert.Contains("dumbbell: 2 s of virtual time, seed 7", output);
            Assert.Contains("short-rtt bulk h1->h3 cubic:", output);
            string summary = File.ReadAllText(Path.Combine(directory, "summary.json"));
            Assert.StartsWith("{\n  \"scenario\": \"dumbbell\",\n  \"seed\": 7,\n  \"duration_s\": 2,\n  \"flows\": [", summary);
            using var json = System.Text.Json.JsonDocument.Parse(summary);
            foreach (var flow in json.RootElement.GetProperty("flows").EnumerateArray())
            {
                Assert.True(flow.GetProperty("bytes").GetInt64() > 100_000, flow.ToString());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void BulkFlow_TraceEveryAck_ARowPerAckAndTheRunItselfUnchanged()
    {
        string json = SingleFlow("cubic", "10mbit", "10ms", 50, "2s");
        (LabRunResult interval, LabTraceFile intervalTrace) = RunSingle(json);
        (LabRunResult everyAck, LabTraceFile ackTrace) = RunSingle(json.Replace("\"sample_interval\": \"10ms\"", "\"sample_interval\": \"10ms\", \"trace_every_ack\": true", StringComparison.Ordinal));

        // Watching the ACKs changes nothing in the run.
        LabFlowResult a = interval.Flows.Single(), b = everyAck.Flows.Single();
        Assert.Equal((a.Bytes, a.Retransmits, a.RttP50Milliseconds, a.RttP99Milliseconds), (b.Bytes, b.Retransmits, b.RttP50Milliseconds, b.RttP99Milliseconds));

        // About 2.4 MB at one ACK per one or two segments: well over a thousand ACK rows beside 201 samples.
        Assert.Equal(201, intervalTrace.Rows.Count);
        Assert.True(ackTrace.Rows.Count > intervalTrace.Rows.Count + 800, $"{ackTrace.Rows.Count} rows with every ACK, {intervalTrace.Rows.Count} without");
        Assert.All(ackTrace.Rows.Zip(ackTrace.Rows.Skip(1)), pair => Assert.True(pair.First.Time <= pair.Second.Time));

        // Slow start grows cwnd on every ACK: the per-ACK rows see many more distinct windows.
        Assert.True(ackTrace.Rows.Select(r => r.Cwnd).Distinct().Count() > 3 * intervalTrace.Rows.Select(r => r.Cwnd).Distinct().Count());
    }

    [Fact]
    public void BulkFlow_QueueBuildsBehindBottleneck_RttPercentilesAreOfTheMeasurementsWithinPathBounds()
    {
        // 20 ms base RTT; a full 50-packet queue at 10 Mbit/s adds 50 * 1.2 ms = 60 ms.
        (LabRunResult result, _) = RunSingle(SingleFlow("cubic", "10mbit", "10ms", 50, "4s"));
        LabFlowResult flow = result.Flows.Single();
        Assert.NotNull(flow.RttP50Milliseconds);
        Assert.InRange(flow.RttP50Milliseconds!.Value, 20, 20 + 60 + 5);
        Assert.InRange(flow.RttP99Milliseconds!.Value, flow.RttP50Milliseconds.Value, 20 + 60 + 5);

        // Measurements are whole milliseconds (the timestamp clock), where SRTT is smoothed to fractions.
        Assert.Equal(Math.Round(flow.RttP99Milliseconds.Value), flow.RttP99Milliseconds.Value);
    }

    [Fact]
    public void NewRenoFlow_CongestionAvoidanceBetweenLosses_GrowsAboutOneMssPerRttAndHalvesAtLoss()
    {
        // 10 Mbit/s, 40 ms RTT (33 packets) plus 50 packets of queue: a sawtooth of a few seconds per tooth.
        (_, LabTraceFile trace) = RunSingle(SingleFlow("newreno", "10mbit", "20ms", 50, "12s"));
        List<int> reductions = trace.Reductions();
        Assert.True(reductions.Count >= 3, $"{reductions.Count} window reductions");
        int checkedTeeth = 0;
        for (int k = 1; k + 1 < reductions.Count; k++)
        {
            // RFC 5681 3.1 (4): ssthresh = FlightSize / 2 with the flight about the window before the loss.
            LabTraceFile.Row before = trace.Rows[reductions[k] - 1];
            LabTraceFile.Row after = trace.Rows[reductions[k]];
            Assert.InRange((double)after.Ssthresh / before.Cwnd, 0.45, 0.55);

            // Congestion avoidance from half a second after the reduction (recovery over) to the next reduction.
            int from = trace.Rows.FindIndex(reductions[k], r => r.Time >= after.Time + 0.5);
            int to = reductions[k + 1] - 2;
            if (from < 0 || to - from < 50)
            {
                continue;
            }

            double rtts = 0;
            for (int i = from + 1; i <= to; i++)
            {
                rtts += (trace.Rows[i].Time - trace.Rows[i - 1].Time) / (trace.Rows[i].SrttMs / 1000);
            }

            double perRtt = (trace.Rows[to].Cwnd - trace.Rows[from].Cwnd) / rtts;
            Assert.InRange(perRtt, 0.8 * Mss, 1.2 * Mss);
            checkedTeeth++;
        }

        Assert.True(checkedTeeth >= 1, "no sawtooth long enough to measure");
    }

    [Fact]
    public void CubicFlow_AfterAWindowReduction_WindowFollowsWcubicOfTimeSinceTheLoss_Rfc9438()
    {
        // 20 Mbit/s, 100 ms RTT: a window of hundreds of segments, so CUBIC runs in its own
        // region rather than the Reno-friendly one (RFC 9438 4.3), and K is seconds long.
        (_, LabTraceFile trace) = RunSingle(SingleFlow("cubic", "20mbit", "50ms", 100, "25s"));
        List<int> reductions = trace.Reductions();
        Assert.True(reductions.Count >= 3, $"{reductions.Count} window reductions");
        int checkedPoints = 0;

        // Skip the first reduction (the end of slow start): the later ones are the steady sawtooth.
        for (int k = 1; k < reductions.Count; k++)
        {
            LabTraceFile.Row before = trace.Rows[reductions[k] - 1];
            LabTraceFile.Row after = trace.Rows[reductions[k]];
            double previousMax = trace.Rows[reductions[k - 1] - 1].Cwnd / (double)Mss;
            double segments = before.Cwnd / (double)Mss;

            // RFC 9438 4.6 and 4.7: beta 0.7; W_max lowered by fast convergence below the previous maximum.
            Assert.InRange(after.Ssthresh / (double)before.Cwnd, 0.67, 0.73);
            double wMax = segments < previousMax ? segments * (1 + 0.7) / 2 : segments;
            double k0 = Math.Cbrt((wMax - (after.Ssthresh / (double)Mss)) / 0.4);
            double lossTime = after.Time - 0.005; // the loss fell somewhere in the sample interval
            double next = k + 1 < reductions.Count ? trace.Rows[reductions[k + 1] - 1].Time : trace.Rows[^1].Time;
            foreach (double t in new[] { 1.0, 2.0, 3.0, 4.0 })
            {
                LabTraceFile.Row? row = trace.Rows.FirstOrDefault(r => r.Time >= lossTime + t);
                if (row is null || row.Time >= next - 0.2)
                {
                    continue;
                }

                double expected = (0.4 * Math.Pow(t - k0, 3)) + wMax;
                double actual = row.Cwnd / (double)Mss;
                Assert.True(actual >= expected * 0.9 && actual <= expected * 1.1,
                    string.Create(CultureInfo.InvariantCulture, $"{t} s after the loss at {lossTime:0.000} s: cwnd {actual:0.0} segments, W_cubic {expected:0.0} (W_max {wMax:0.0}, K {k0:0.00})"));
                checkedPoints++;
            }
        }

        Assert.True(checkedPoints >= 4, $"{checkedPoints} points checked");
    }
}
