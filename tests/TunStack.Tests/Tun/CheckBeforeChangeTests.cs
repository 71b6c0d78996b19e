using TunStack.Cli;

namespace TunStack.Tests.Tun;

/// <summary>
/// tunstack checks every option and config key before it changes anything: a bad one is one line
/// in its own words and exit code 2, and the namespace shows nothing was made. Commands without
/// --netns run inside a namespace the test made (ip netns exec), which stands for the host's.
/// </summary>
public class CheckBeforeChangeTests
{
    // One line on standard error that names what was wrong, exit code 2, no .NET type names.
    private static string AssertRefused((int Code, string Output, string Errors) result, params string[] expected)
    {
        Assert.True(result.Code == 2, $"exit {result.Code}: {result.Output}{result.Errors}");
        string line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tunstack: ", line);
        foreach (string text in expected)
        {
            Assert.Contains(text, line, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("reader options", line, StringComparison.Ordinal);
        return line;
    }

    private static void AssertNothingMade(TestNamespace ns, string reserved)
    {
        Assert.Equal(new[] { "lo" }, ns.Links());
        Assert.False(TestNamespace.Exists(reserved), $"namespace {reserved} was made");
    }

    private static string Config(string json)
    {
        string path = Path.Combine(Path.GetTempPath(), $"tunstack-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [SkippableTheory]
    [InlineData(new[] { "--address", "10.77.0.2" }, new[] { "--address", "'10.77.0.2' needs a prefix length", "10.77.0.2/24" })]
    [InlineData(new[] { "--address", "10.77.0.2/32" }, new[] { "--address", "10.77.0.2/32 leaves no other address", "--peer" })]
    [InlineData(new[] { "--address", "10.77.0.2/24", "--peer", "10.88.0.1" }, new[] { "--peer", "10.88.0.1 is outside 10.77.0.0/24" })]
    [InlineData(new[] { "--mtu", "abc" }, new[] { "--mtu takes a whole number, not 'abc'" })]
    [InlineData(new[] { "--queues", "x" }, new[] { "--queues takes a whole number, not 'x'" })]
    [InlineData(new[] { "--tcp-memory", "lots" }, new[] { "--tcp-memory must be a size of at least 1MiB, such as 512MiB or 2GiB, not 'lots'" })]
    [InlineData(new[] { "--max-connections", "0" }, new[] { "--max-connections must be at least 1, not 0" })]
    [InlineData(new[] { "--congestion", "vegas" }, new[] { "--congestion must be one of bbr, cubic, newreno, reno, not 'vegas'" })]
    [InlineData(new[] { "--tcp-ecn", "3" }, new[] { "--tcp-ecn must be 0 (off), 1 (ask and agree) or 2 (agree only), not 3" })]
    [InlineData(new[] { "--capture", "/nonexistent-dir/x.pcapng" }, new[] { "--capture", "directory that does not exist (/nonexistent-dir)" })]
    [InlineData(new[] { "--capture", "/tmp" }, new[] { "--capture", "/tmp is a directory" })]
    public void Up_BadOption_ExitCode2NamesItBeforeAnythingIsMade(string[] args, string[] expected)
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        string reserved = TestNamespace.NewName();
        AssertRefused(ns.Tunstack(new[] { "up" }.Concat(args).ToArray()), expected);
        AssertRefused(ns.Tunstack(new[] { "up", "--netns", reserved }.Concat(args).ToArray()), expected);
        AssertNothingMade(ns, reserved);
    }

    [SkippableTheory]
    [InlineData("{ \"adresses\": [\"10.77.0.2/24\"] }", new[] { "unknown key 'adresses'", "did you mean 'addresses'?" })]
    [InlineData("{ \"sevre\": \"echo\" }", new[] { "unknown key 'sevre'", "did you mean 'serve'?" })]
    [InlineData("{ \"addresses\": 5 }", new[] { "'addresses' in ", "must be a list of strings", "not 5" })]
    [InlineData("{ \"mtu\": \"big\" }", new[] { "'mtu' in ", "must be a whole number, not \"big\"" })]
    [InlineData("{ \"mtu\": 100 }", new[] { "'mtu' in ", "must be between 1280 and 65535, not 100" })]
    [InlineData("{ \"serve\": \"telnet\" }", new[] { "'serve' in ", "unknown service 'telnet'" })]
    [InlineData("{ \"tcpMemory\": \"1KiB\" }", new[] { "'tcpMemory' in ", "must be a size of at least 1MiB" })]
    [InlineData("{ \"maxConnections\": \"many\" }", new[] { "'maxConnections' in ", "must be a whole number, not \"many\"" })]
    [InlineData("{ \"tcpEcn\": 5 }", new[] { "'tcpEcn' in ", "must be 0 (off), 1 (ask and agree) or 2 (agree only), not 5" })]
    [InlineData("{ \"impairIn\": \"loss\" }", new[] { "'impairIn' in ", "not key=value" })]
    [InlineData("{\n  \"mtu\": 1400,\n  x\n}", new[] { "line 3, column 3: not valid JSON" })]
    [InlineData("[1, 2]", new[] { "expected one JSON object" })]
    public void Up_BadConfigFile_ExitCode2NamesTheKeyBeforeAnythingIsMade(string json, string[] expected)
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        string reserved = TestNamespace.NewName();
        string config = Config(json);
        try
        {
            AssertRefused(ns.Tunstack("up", "--config", config, "--netns", reserved), expected.Append(config).ToArray());
            AssertRefused(ns.Tunstack("up", "--config", config), expected);
            AssertNothingMade(ns, reserved);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void ConfigFile_EveryKey_ReadAndLabelledWithItsFile()
    {
        string config = Config("""
            {
              // every key, in the case docs/daemon.md gives
              "tun": "cfg0", "addresses": "10.88.0.2/24", "peers": ["10.88.0.1"], "routes": ["0.0.0.0/0 via 10.88.0.1"],
              "mtu": 1400, "netns": "lab", "serve": "echo=7007", "capture": null, "logLevel": "warn",
              "disableKernelIpv6": true, "queues": 2, "vnetHdr": true,
              "impair": "loss=1%", "impairIn": "delay=5ms", "impairOut": "dup=1%",
            }
            """);
        try
        {
            var settings = new TunSettings();
            Assert.Null(TunConfigFile.Read(config, settings));
            Assert.Null(settings.Validate(withServices: true));
            Assert.Equal(("cfg0", 1400, "lab", 2, true, true), (settings.Tun, settings.Mtu, settings.Netns, settings.Queues, settings.VnetHdr, settings.DisableKernelIpv6));
            Assert.Equal("10.88.0.2/24", Assert.Single(settings.StackAddresses).ToString());
            Assert.Equal(("delay=5ms", "dup=1%"), (settings.Ingress.ToString(), settings.Egress.ToString()));
            Assert.Equal($"'mtu' in {config}", settings.Label("mtu"));
            settings.SetFromCommandLine("mtu");
            Assert.Equal("--mtu", settings.Label("mtu"));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void DaemonDoc_ConfigKeys_ListsEveryKeyTheFileTakes()
    {
        string doc = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "daemon.md"));
        string row = doc.Split('\n').Single(line => line.StartsWith("| `--config FILE`", StringComparison.Ordinal));
        foreach (string key in TunSettings.Keys.Keys)
        {
            Assert.Contains($"`{key}`", row, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void Up_WithoutNetns_SaysWhatItConfiguresBeforeDoingIt_RemovesItOnStop()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartIn(ns.Name, "up");
        daemon.WaitForLine("ready:");
        string[] lines = daemon.Output.Split('\n');
        int said = Array.FindIndex(lines, l => l.Contains("warn  no --netns: configuring the current network namespace", StringComparison.Ordinal));
        int created = Array.FindIndex(lines, l => l.Contains("created TUN device tunstack0", StringComparison.Ordinal));
        Assert.True(said >= 0 && said < created, daemon.Output);
        Assert.Contains("kernel-side addresses 10.77.0.1/24, fd77::1/64 with routes to 10.77.0.0/24, fd77::/64 on tunstack0", lines[said]);
        Assert.Contains("tunstack0", ns.Links());
        Assert.Equal(0, daemon.Terminate());
        Assert.Equal(new[] { "lo" }, ns.Links());
    }

    [SkippableFact]
    public void Up_WithoutNetns_AddressOverlapsTheNamespace_RefusedNamingItUnlessForced()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        Assert.Equal(0, ns.Exec("ip", "addr", "add", "10.77.0.9/16", "dev", "lo").Code);
        AssertRefused(ns.Tunstack("up"), "10.77.0.1/24 overlaps 10.77.0.9/16 on lo", "--netns NAME", "--force");
        AssertRefused(ns.Tunstack("ping", "10.77.0.1", "-c", "1"), "10.77.0.1/24 overlaps 10.77.0.9/16 on lo");
        Assert.Equal(0, ns.Exec("ip", "addr", "del", "10.77.0.9/16", "dev", "lo").Code);
        Assert.Equal(0, ns.Exec("ip", "link", "set", "lo", "up").Code);
        Assert.Equal(0, ns.Exec("ip", "route", "add", "10.0.0.0/8", "dev", "lo").Code);
        AssertRefused(ns.Tunstack("nc", "-u", "10.77.0.1", "5"), "overlaps the route to 10.0.0.0/8 on lo");
        Assert.Equal(new[] { "lo" }, ns.Links());

        using TunstackProcess forced = TunstackProcess.StartIn(ns.Name, "up", "--force");
        Assert.Contains("--force: configuring the current network namespace although 10.77.0.1/24 overlaps the route to 10.0.0.0/8 on lo", forced.WaitForLine("--force"));
        forced.WaitForLine("ready:");
        Assert.Equal(0, forced.Terminate());
    }

    [SkippableFact]
    public void PingAndNc_WithoutNetns_SayWhatTheyConfigure()
    {
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        (int code, string output, string errors) = ns.Tunstack("ping", "10.77.0.1", "-c", "1");
        Assert.True(code == 0, output + errors);
        Assert.Contains("no --netns: configuring the current network namespace", errors);
        (code, _, errors) = ns.Exec("sh", "-c", $"echo hi | dotnet {TunstackProcess.Dll} nc -u 10.77.0.1 9 --address 10.77.0.2/24 -q 0.2");
        Assert.Contains("no --netns: configuring the current network namespace", errors);
        Assert.Contains("IPv6 off on tunstack0", errors);
        Assert.Equal(new[] { "lo" }, ns.Links());
    }
}
