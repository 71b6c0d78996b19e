using System.Buffers.Binary;
using System.Diagnostics;
using System.Xml.Linq;
using TunStack.Lab.Plots;
using TunStack.Tests.Cli;
using TunStack.Tests.Links;
using Xunit.Abstractions;

namespace TunStack.Tests.Lab;

public class LabReportTests(ITestOutputHelper output)
{
    private static readonly string[] s_plots = ["cwnd", "throughput", "rtt", "queue"];

    [Fact]
    public void Write_TwoFlowsOneLink_EveryPngHasSignatureAndFigureSize()
    {
        using var run = new SyntheticLabRun();
        LabReport.Write(run.Directory);
        foreach (string plot in s_plots)
        {
            byte[] png = File.ReadAllBytes(run.PathOf(plot + ".png"));
            Assert.True(png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }), $"{plot}.png has no PNG signature");
            Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
            Assert.Equal(1000u, BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)));
            Assert.Equal(450u, BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20)));
        }
    }

    [Fact]
    public void Write_TwoFlowsOneLink_EverySvgIsXmlWithSvgRootAndLegends()
    {
        using var run = new SyntheticLabRun();
        LabReport.Write(run.Directory);
        var expected = new Dictionary<string, string[]>
        {
            ["cwnd"] = ["f1 cwnd", "f1 ssthresh", "f2 cwnd", "f2 ssthresh", "kB (1 kB = 1000 bytes)", "time (s)", "dumbbell, seed 7"],
            ["throughput"] = ["f1", "f2", "Mbit/s"],
            ["rtt"] = ["f1", "f2", "srtt (ms)"],
            ["queue"] = ["r1-r2", "packets queued"],
        };
        foreach (string plot in s_plots)
        {
            XDocument svg = XDocument.Load(run.PathOf(plot + ".svg"));
            Assert.Equal(XName.Get("svg", "http://www.w3.org/2000/svg"), svg.Root!.Name);
            var texts = svg.Descendants(XName.Get("text", "http://www.w3.org/2000/svg")).Select(t => t.Value).ToList();
            foreach (string text in expected[plot])
            {
                Assert.True(texts.Any(t => t.Contains(text, StringComparison.Ordinal)), $"{plot}.svg has no text '{text}'");
            }
        }
    }

    [Fact]
    public void Write_TwoFlowsOneLink_ReportHasBothTablesAndReferencesEveryPlot()
    {
        using var run = new SyntheticLabRun();
        LabReport.Write(run.Directory);
        string html = File.ReadAllText(run.PathOf("report.html"));
        Assert.Contains("<title>TunStack lab: dumbbell, seed 7</title>", html);
        Assert.Contains("<table class=\"flows\">", html);
        Assert.Contains("<td>f1</td><td>bulk</td><td>h1</td><td>h3</td><td>cubic</td><td class=\"number\">61,234,567</td><td class=\"number\">48.99</td>", html);
        Assert.Contains("<td>f2</td>", html);
        Assert.Contains("<td class=\"number\">9.875</td>", html);
        Assert.Contains("<table class=\"links\">", html);
        Assert.Contains("<td>r1-r2</td><td class=\"number\">70,012</td><td class=\"number\">48</td>", html);
        foreach (string plot in s_plots)
        {
            Assert.Contains($"<img src=\"{plot}.svg\"", html);
            Assert.Contains($"<a href=\"{plot}.png\">", html);
        }

        Assert.DoesNotContain("http:", html);
        Assert.DoesNotContain("https:", html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void Write_SameFilesTwice_EveryOutputByteIdentical()
    {
        using var first = new SyntheticLabRun();
        using var second = new SyntheticLabRun();
        LabReport.Write(first.Directory);
        LabReport.Write(second.Directory);
        LabReport.Write(first.Directory);
        Assert.Equal(9, LabReport.OutputFiles.Count);
        foreach (string file in LabReport.OutputFiles)
        {
            Assert.True(File.ReadAllBytes(first.PathOf(file)).AsSpan().SequenceEqual(File.ReadAllBytes(second.PathOf(file))), $"{file} differs between two reports of the same files");
        }
    }

    [Theory]
    [InlineData("trace-f2.csv", 5, "0.030000,Established,abc,-1,21.000,5.250,17376,0,0,0,0,65535", "trace-f2.csv line 5: cwnd is 'abc', not a number")]
    [InlineData("trace-f1.csv", 3, "0.020000,Established,17376", "trace-f1.csv line 3: 3 fields, but the header has 12")]
    [InlineData("trace-f1.csv", 4, "0.001000,Established,17376,-1,21.000,5.250,17376,0,0,0,0,65535", "trace-f1.csv line 4: time_s goes back from 0.01 to 0.001")]
    [InlineData("trace-f1.csv", 1, "time_s,state,congestion_window", "trace-f1.csv line 1: the header 'time_s,state,congestion_window' has no column 'cwnd'")]
    [InlineData("queue-r1-r2.csv", 7, "0.060000,NaN,0,0,0", "queue-r1-r2.csv line 7: packets is 'NaN', not a number")]
    [InlineData("summary.json", 3, "  \"seed\": 7,,", "summary.json line 3: not valid JSON (")]
    [InlineData("summary.json", 3, "  \"seed\": \"seven\",", "summary.json: seed is a string, expected a number")]
    [InlineData("summary.json", 6, "    { \"name\": \"../f1\", \"kind\": \"bulk\", \"from\": \"h1\", \"to\": \"h3\", \"congestion\": \"cubic\", \"bytes\": 1, \"goodput_bps\": 1,", "summary.json: flows[0].name '../f1' is not a lab name")]
    public void Write_MalformedLine_ExceptionNamesFileAndLine(string file, int line, string replacement, string expected)
    {
        using var run = new SyntheticLabRun(samples: 50);
        run.ReplaceLine(file, line, replacement);
        var e = Assert.Throws<LabReportInputException>(() => LabReport.Write(run.Directory));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), e.Message);
        Assert.EndsWith(file, e.FilePath);
    }

    [Fact]
    public void Write_TraceOfTcpFlowMissing_ExceptionNamesTheFile()
    {
        using var run = new SyntheticLabRun(samples: 50);
        File.Delete(run.PathOf("trace-f2.csv"));
        var e = Assert.Throws<LabReportInputException>(() => LabReport.Write(run.Directory));
        Assert.Equal(run.PathOf("trace-f2.csv") + ": missing", e.Message);
    }

    [Fact]
    public void Write_QueueFileAbsent_QueuePlotSaysSoAndTheRestIsDrawn()
    {
        using var run = new SyntheticLabRun(samples: 50);
        File.Delete(run.PathOf("queue-r1-r2.csv"));
        LabReport.Write(run.Directory);
        Assert.Contains("no link in this run has a queue file", XDocument.Load(run.PathOf("queue.svg")).Root!.Value);
        Assert.Contains("f1 cwnd", XDocument.Load(run.PathOf("cwnd.svg")).Root!.Value);
    }

    [Fact]
    public void Write_SsthreshInfiniteThroughout_CwndDrawnWithoutSsthreshLine()
    {
        using var run = new SyntheticLabRun(samples: 150); // the first loss (halving) comes at sample 200
        LabReport.Write(run.Directory);
        var texts = XDocument.Load(run.PathOf("cwnd.svg")).Descendants(XName.Get("text", "http://www.w3.org/2000/svg")).Select(t => t.Value.Trim()).ToList();
        Assert.Contains("f1 cwnd", texts);
        Assert.Contains("f2 cwnd", texts);
        Assert.DoesNotContain(texts, t => t.EndsWith(" ssthresh", StringComparison.Ordinal));
    }

    [Fact]
    public void LabReportCommand_MalformedTrace_OneLineNamingFileAndLineAndExitCode2()
    {
        using var run = new SyntheticLabRun(samples: 50);
        run.ReplaceLine("trace-f1.csv", 9, "0.070000,Established,x,-1,21.000,5.250,17376,0,0,0,0,65535");
        InProcessCli.AssertRefused(["lab", "report", run.Directory], "trace-f1.csv line 9: cwnd is 'x', not a number");
    }

    [Fact]
    public void LabReportCommand_DirectoryMissing_OneLineAndExitCode2()
    {
        InProcessCli.AssertRefused(["lab", "report", "/nonexistent/lab-run"], "/nonexistent/lab-run: no such directory");
    }

    [Fact]
    public void LabReportCommand_RunDirectory_WritesEveryOutputAndExitCode0()
    {
        using var run = new SyntheticLabRun(samples: 50);
        (int code, string stdout, string stderr) = InProcessCli.Run("lab", "report", run.Directory);
        Assert.True(code == 0, stderr);
        Assert.Contains(run.PathOf("report.html"), stdout);
        Assert.All(LabReport.OutputFiles, file => Assert.True(new FileInfo(run.PathOf(file)).Length > 0, file));
    }

    [Fact]
    public void Write_MillionSampleTraces_FinishesInSecondsWithSmallSvgs()
    {
        using var run = new SyntheticLabRun(samples: 1_000_000);
        var clock = Stopwatch.StartNew();
        LabReport.Write(run.Directory);
        clock.Stop();
        output.WriteLine($"report of 2 x 1,000,000 trace rows and 1,000,000 queue rows: {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
        foreach (string plot in s_plots)
        {
            long size = new FileInfo(run.PathOf(plot + ".svg")).Length;
            Assert.True(size < 2_000_000, $"{plot}.svg is {size} bytes");
        }
    }

    [Fact]
    public void Reduce_MillionSampleSawtooth_KeepsEveryExtremeWithinBudget()
    {
        const int n = 1_000_000;
        double[] times = Enumerable.Range(0, n).Select(i => i * 0.001).ToArray();
        double[] values = Enumerable.Range(0, n).Select(i => i % 5000 == 4999 ? 1000.0 : i % 5000 / 10.0).ToArray();
        values[123_456] = double.NaN;
        (double[] t, double[] v) = SeriesDecimation.Reduce(times, values);
        Assert.True(v.Length <= 3 * SeriesDecimation.Buckets, $"{v.Length} points");
        Assert.Equal(n / 5000, v.Count(x => x == 1000.0));
        Assert.Contains(v, double.IsNaN);
        Assert.Equal(t.Order(), t);
    }

    [Fact]
    public void RatesMbps_TenThousandIntervalsOfSteadyDelivery_TwoThousandPointsAtTheRate()
    {
        double[] time = Enumerable.Range(0, 10_001).Select(i => i * 0.001).ToArray();
        double[] delivered = time.Select(t => t * 12_500_000).ToArray(); // 100 Mbit/s
        (double[] times, double[] rates) = ReportFigures.RatesMbps(time, delivered, 2000);
        Assert.Equal(2000, rates.Length);
        Assert.All(rates, r => Assert.Equal(100, r, 6));
        Assert.Equal(0.005, times[0], 9);
    }

    [SkippableFact]
    public void ReportHtml_InHeadlessChromium_ScreenshotAndEveryPlotLoads()
    {
        string chromium = CaptureTests.RequireTool("chromium", "chromium");
        using var run = new SyntheticLabRun(samples: 200);
        LabReport.Write(run.Directory);

        // The report has no script; a copy of it with a probe script appended lists, after the
        // load event, every image that failed to load and every error event. The probe also
        // references a missing image, which must be listed: proof that the probe sees failures.
        string html = File.ReadAllText(run.PathOf("report.html"));
        const string probe = """
            <img src="probe-missing.svg" alt="">
            <script>
            var failures = [];
            window.addEventListener('error', function (e) { failures.push('error:' + (e.target && e.target.getAttribute ? e.target.getAttribute('src') : e.message)); }, true);
            window.addEventListener('load', function () {
              for (var i of document.images) { if (!i.complete || i.naturalWidth === 0) failures.push('broken:' + i.getAttribute('src')); }
              var p = document.createElement('pre'); p.id = 'probe'; p.textContent = 'PROBE[' + failures.sort().join(' ') + ']'; document.body.appendChild(p);
            });
            </script>
            </body>
            """;
        File.WriteAllText(run.PathOf("probe.html"), html.Replace("</body>", probe, StringComparison.Ordinal));
        string screenshot = run.PathOf("screenshot.png");
        var clock = Stopwatch.StartNew();
        (int code, string dom, string errors) = CaptureTests.Run(chromium, "--headless", "--no-sandbox", "--disable-gpu",
            $"--user-data-dir={run.PathOf("chromium-profile")}", $"--screenshot={screenshot}", "--dump-dom", "--window-size=1200,1600",
            "file://" + run.PathOf("probe.html"));
        output.WriteLine($"chromium: {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(code == 0, errors);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is (nearly) empty");
        Assert.Contains("PROBE[broken:probe-missing.svg error:probe-missing.svg]", dom);
    }
}
