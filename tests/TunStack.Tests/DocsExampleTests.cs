using System.Diagnostics;
using System.Text.RegularExpressions;
using TunStack.Examples;

namespace TunStack.Tests;

/// <summary>
/// The C# the docs show is docs/examples, compiled into TunStack.Examples and run here: every
/// snippet in a Markdown file is one of those files as a whole, or a marked excerpt of one; every
/// example runs and prints what the docs say; the texts name nothing outside the repository.
/// </summary>
public partial class DocsExampleTests
{
    private static string Examples => Path.Combine(RepositoryRoot.Path, "docs", "examples");

    // Markdown the project publishes: the README, docs/ and each project's README (build output aside).
    private static IEnumerable<string> MarkdownFiles()
        => Directory.EnumerateFiles(RepositoryRoot.Path, "*.md", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or ".git" or "TestResults" or "BenchmarkDotNet.Artifacts"));

    [GeneratedRegex(@"^```(csharp|cs|c#)\s*$\n(?<code>.*?)^```\s*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^// (?<excerpt>excerpt of )?docs/examples/(?<file>[A-Za-z]+\.cs)")]
    private static partial Regex SnippetSource();

    private static string[] Lines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n').Select(l => l.TrimEnd()).ToArray();

    [Fact]
    public void EveryCSharpSnippetInTheDocs_IsAnExampleFileOrAMarkedExcerptOfOne()
    {
        int snippets = 0;
        foreach (string markdown in MarkdownFiles())
        {
            foreach (Match block in CSharpBlock().Matches(File.ReadAllText(markdown)))
            {
                snippets++;
                string[] code = Lines(block.Groups["code"].Value);
                Match source = SnippetSource().Match(code[0]);
                Assert.True(source.Success, $"{markdown}: a C# snippet must start with '// docs/examples/NAME.cs' (the whole file) or '// excerpt of docs/examples/NAME.cs': {code[0]}");
                string file = Path.Combine(Examples, source.Groups["file"].Value);
                Assert.True(File.Exists(file), $"{markdown}: {file} does not exist");
                string[] lines = Lines(File.ReadAllText(file));
                if (!source.Groups["excerpt"].Success)
                {
                    Assert.True(lines.SequenceEqual(code), $"{markdown}: the snippet differs from {file}; show the file as it is");
                    continue;
                }

                // An excerpt: its lines (after the marker) appear in the file, in a row, indentation aside.
                string[] excerpt = code.Skip(1).Select(l => l.Trim()).ToArray();
                string[] trimmed = lines.Select(l => l.Trim()).ToArray();
                bool found = Enumerable.Range(0, trimmed.Length - excerpt.Length + 1).Any(i => trimmed.Skip(i).Take(excerpt.Length).SequenceEqual(excerpt));
                Assert.True(found, $"{markdown}: the excerpt is not a run of lines of {file}");
            }
        }

        Assert.True(snippets >= 7, $"only {snippets} C# snippets found under {RepositoryRoot.Path}");
    }

    [Fact]
    public void EveryExampleFile_HasAnEntryInTheDriver()
    {
        string driver = File.ReadAllText(Path.Combine(Examples, "Program.cs"));
        foreach (string file in Directory.GetFiles(Examples, "*.cs").Where(f => Path.GetFileName(f) is not ("Program.cs" or "ExampleHost.cs")))
        {
            Assert.Contains(Path.GetFileNameWithoutExtension(file) + ".", driver, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("issue #")]
    [InlineData("design card")]
    [InlineData("NuGet mirror")]
    [InlineData("../shared")]
    [InlineData("not here yet")]
    [InlineData("come later")]
    [InlineData("comes later")]
    public void Docs_SayNothingAboutIssuesPlansOrPlacesOutsideTheRepository(string phrase)
    {
        foreach (string markdown in ReaderFacingMarkdown())
        {
            Assert.DoesNotContain(phrase, File.ReadAllText(markdown), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Docs_NameNoIssueNumbers()
    {
        foreach (string markdown in ReaderFacingMarkdown())
        {
            Match number = IssueNumber().Match(File.ReadAllText(markdown));
            Assert.False(number.Success, $"{markdown} names '{number.Value}', which means nothing to a reader of the repository");
        }
    }

    // docs/perf.md and docs/bench/ are a dated log of measurements, with the commands and places
    // they were made in; everything else is written for a reader of the repository alone.
    private static IEnumerable<string> ReaderFacingMarkdown()
        => MarkdownFiles().Where(f => Path.GetFileName(f) != "perf.md" && !f.Contains($"{Path.DirectorySeparatorChar}bench{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    // "#6", "issue 6", but not a Markdown anchor ("#signals") or an HTML entity.
    [GeneratedRegex(@"(?<![\w&])#\d+\b|\bissues? \d+\b", RegexOptions.IgnoreCase)]
    private static partial Regex IssueNumber();

    [Fact]
    public void TwoStacksOnAVirtualClock_PingAndUdp_AsUsingTheCoreSays()
    {
        var output = new StringWriter();
        TwoStacksOnAVirtualClock.Run(output);
        string text = output.ToString();
        Assert.Contains("echo reply from 10.0.0.2: sequence 1, 5 bytes", text);
        Assert.Matches(@"B received ""question"" \(8 bytes\) from 10\.0\.0\.1:\d+", text);
        Assert.Contains("UdpDelivered 1", text);
    }

    [Fact]
    public void OffloadsOnAVirtualClock_FourMebibytes_SuperSegmentsEachWayAsUsingTheCoreSays()
    {
        var output = new StringWriter();
        OffloadsOnAVirtualClock.Run(output);
        string text = output.ToString();
        Assert.Contains("4194304 bytes from A to B; MSS 1448", text);
        int sent = int.Parse(Regex.Match(text, @"A handed the wire (\d+) super-segments").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int taken = int.Parse(Regex.Match(text, @"B took (\d+) super-segments whole").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(sent > 50, text);
        Assert.Equal(sent, taken);
    }

    [Fact]
    public async Task StackOnItsOwnThread_BindsAnEphemeralPort()
    {
        var output = new StringWriter();
        await StackOnItsOwnThread.RunAsync(output);
        int port = int.Parse(Regex.Match(output.ToString(), @"bound UDP port (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(port, 32768, 60999);
    }

    [Fact]
    public async Task ForwardingEveryAddress_AnswersFromEachOriginalDestination_RefusesOtherPorts()
    {
        var output = new StringWriter();
        await ForwardingEveryAddress.RunAsync(output).WaitAsync(TimeSpan.FromSeconds(30));
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^you reached 203\.0\.113\.7:80 from 10\.0\.2\.100:\d+$", lines[0]);
        Assert.Matches(@"^you reached 198\.51\.100\.20:80 from 10\.0\.2\.100:\d+$", lines[1]);
        Assert.Equal("203.0.113.7:81: ConnectionRefused", lines[2]);
    }

    [Fact]
    public void CapturingAndImpairing_WritesACaptureAndTheTextForm()
    {
        string path = Path.Combine(Path.GetTempPath(), $"a-{Guid.NewGuid():N}.pcapng");
        try
        {
            var output = new StringWriter();
            CapturingAndImpairing.Run(path, output);
            Assert.True(new FileInfo(path).Length > 0);
            Assert.Contains("the same impairment as text: loss=1%,delay=10ms,reorder=5%, seed 42", output.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CraftedPacketsIntoAStack_SynAndIcmpv6EchoBuiltWithPacketDotNet_AnsweredAsUsingTheCoreSays()
    {
        var output = new StringWriter();
        CraftedPacketsIntoAStack.Run(output);
        Assert.Equal(
            ["SYN to 10.0.0.2:7 answered: SYN True, ACK True, acknowledging 1001", "echo request to fd00::2 answered: ICMPv6 type 129 (EchoReply), 4 bytes of data"],
            Lines(output.ToString()));
        Assert.Contains(string.Join('\n', Lines(output.ToString())), File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "using-the-core.md")).Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void PacketDotNetIcmpv6EchoRequest_ToIpBytes_ChecksumTheStackAccepts()
    {
        var echo = new PacketDotNet.IcmpV6Packet(new PacketDotNet.Utils.ByteArraySegment([128, 0, 0, 0, 0, 1, 0, 1, 0xAB]));
        var packet = new PacketDotNet.IPv6Packet(System.Net.IPAddress.Parse("fd00::1"), System.Net.IPAddress.Parse("fd00::2")) { PayloadPacket = echo, HopLimit = 64 };

        byte[] bytes = PacketDotNetPackets.ToIpBytes(packet);

        Assert.True(TunStack.Wire.Ipv6Packet.TryCreate(bytes, out TunStack.Wire.Ipv6Packet ip));
        uint sum = TunStack.Wire.InternetChecksum.PseudoHeaderV6(bytes.AsSpan(8, 16), bytes.AsSpan(24, 16), 58, bytes.Length - 40);
        Assert.True(TunStack.Wire.InternetChecksum.IsValid(TunStack.Wire.InternetChecksum.Add(sum, bytes.AsSpan(40))), "the ICMPv6 checksum");
        Assert.Equal(9, ip.PayloadLength);
    }

    [Fact]
    public void TcpEchoOnAVirtualClock_EchoedAndClosed_AsTcpPageSays()
    {
        var output = new StringWriter();
        TcpEchoOnAVirtualClock.Run(output);
        Assert.Equal("echoed \"hello, tcp\" (None); the client's side is now TimeWait", output.ToString().Trim());
    }

    [Fact]
    public void CustomCongestionControl_RegisteredByName_MovesTheDataAndIsReportedByName()
    {
        var output = new StringWriter();
        CustomCongestionControl.Run(output);
        string text = output.ToString();
        Assert.Matches(@"^moved 2097152 bytes with delay-aimd in \d+\.\d\d s", text);
        Assert.Contains("Established delay-aimd mss:", text);
        Assert.Contains("pacing_rate:", text);
    }

    [Fact]
    public void LabWithYourCongestionControl_RegisteredWithTheLab_ScenarioRunsItBesideCubic()
    {
        var output = new StringWriter();
        LabWithYourCongestionControl.Run(output);
        string[] lines = output.ToString().Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^mine \(delay-aimd\): [1-9]\d*\.\d\d Mbit/s, queue delay p50 \d+\.\d ms$", lines[0].Trim());
        Assert.Matches(@"^cubic \(cubic\): [1-9]\d*\.\d\d Mbit/s, queue delay p50 \d+\.\d ms$", lines[1].Trim());
    }

    [Fact]
    public void FirstSocketProgram_HelloAcrossTheStack_AsSocketsPageSays()
    {
        var output = new StringWriter();
        FirstSocketProgram.Run(output);
        Assert.Matches(@"^10\.9\.0\.1:\d+ sent ""hello"" to 10\.9\.0\.1:\d+$", output.ToString().Trim());
    }

    [Fact]
    public void ExampleDriver_RunByName_ItsEntryPointWorks()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "TunStack.Examples.dll"), "tcp-echo" })
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("echoed \"hello, tcp\"", output);
    }
}
