using TunStack.Cli;
using TunStack.Tests.Links;

namespace TunStack.Tests.Cli;

public class DemoCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => InProcessCli.Run(args);

    [Fact]
    public void Demo_Defaults_EveryExchangeWorksAndCountersPrinted()
    {
        (int code, string output, string error) = Run("demo");
        Assert.True(code == 0, output + error);
        Assert.Contains("64 bytes from 10.99.0.2: icmp_seq=1 time=10.0 ms", output);
        Assert.Contains("64 bytes from fd99::1: icmp_seq=3 time=10.0 ms", output);
        Assert.Contains("8000 bytes back from [fd99::2]:7, identical (fragmented and reassembled)", output);
        Assert.Contains("connection refused", output);
        Assert.Contains("Ipv6Reassembled", output);
        Assert.Contains("demo: every exchange worked", output);
    }

    [Theory]
    [InlineData("--mtu", "99", "--mtu must be between 1280 and 65535")]
    [InlineData("--count", "0", "--count must be between 1 and 100")]
    [InlineData("--bogus", null, "--bogus")]
    [InlineData("--mtu", "abc", "abc")]
    public void Demo_BadArgument_OneLineAndExitCode2(string option, string? value, string expected)
    {
        InProcessCli.AssertRefused(value is null ? new[] { "demo", option } : new[] { "demo", option, value }, expected);
    }

    [SkippableFact]
    public void Demo_Capture_ReadByTsharkWithoutMalformedPackets()
    {
        string tshark = CaptureTests.RequireTool("tshark", "tshark");
        string file = Path.Combine(Path.GetTempPath(), $"tunstack-demo-{Guid.NewGuid():N}.pcapng");
        try
        {
            (int code, string output, _) = Run("demo", "--capture", file);
            Assert.Equal(0, code);
            Assert.Contains($"capture: {file}", output);
            (int exit, string summary, string errors) = CaptureTests.Run(tshark, "-r", file, "-q", "-z", "io,phs");
            Assert.True(exit == 0, errors);
            Assert.Contains("icmpv6", summary);
            Assert.Contains("udp", summary);
            Assert.DoesNotContain("malformed", summary, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Demo_CaptureToUnwritablePath_ExitCode1WithReason()
    {
        (int code, _, _) = Run("demo", "--capture", "/nonexistent-dir/x.pcapng");
        Assert.Equal(1, code);
    }
}
