using TunStack.Tests.Links;
using TunStack.Tun;

namespace TunStack.Tests.Tun;

/// <summary>Every bad input to the TUN commands exits nonzero with one clear line.</summary>
public class BadInputTests
{
    private static void AssertOneLine(int expectedCode, (int Code, string Output, string Errors) result, string expected)
    {
        Assert.True(result.Code == expectedCode, $"exit {result.Code}: {result.Output}{result.Errors}");
        string line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tunstack: ", line);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--address", "10.0.0.300/24", "--address: '10.0.0.300/24'")]
    [InlineData("--address", "10.0.0.1/33", "--address")]
    [InlineData("--peer", "nonsense", "--peer: 'nonsense'")]
    [InlineData("--serve", "echo=70000", "out of range (1-65535)")]
    [InlineData("--serve", "telnet", "unknown service 'telnet'")]
    [InlineData("--tun", "name-that-is-far-too-long", "not a valid interface name")]
    [InlineData("--mtu", "100", "--mtu must be between 1280 and 65535")]
    [InlineData("--netns", "a/b", "not a valid namespace name")]
    [InlineData("--log-level", "loud", "--log-level must be")]
    [InlineData("--route", "10.0.0.0/8 through x", "--route")]
    [InlineData("--impair", "loss=lots", "--impair: impairment 'loss=lots' has a bad value")]
    [InlineData("--impair-in", "latency=5ms", "--impair-in: unknown impairment 'latency'")]
    [InlineData("--impair-out", "loss", "--impair-out: impairment item 'loss' is not key=value")]
    public void Up_BadArgument_ExitCode2OneLine(string option, string value, string expected)
        => AssertOneLine(2, TunstackProcess.Run(null, "up", option, value), expected);

    [Fact]
    public void Up_ConfigFileMissing_ExitCode2OneLine()
        => AssertOneLine(2, TunstackProcess.Run(null, "up", "--config", "/nonexistent/tunstack.json"), "--config");

    [Theory]
    [InlineData("\"logFormat\": \"xml\"", "'logFormat' in FILE must be \"text\", \"json\" or \"journal\", not \"xml\"")]
    [InlineData("\"control\": \"\"", "'control' in FILE: '' is not a socket path")]
    [InlineData("\"control\": 7", "'control' in FILE must be a string (or null), not 7")]
    [InlineData("\"force\": \"yes\"", "'force' in FILE must be true or false, not \"yes\"")]
    public void Up_BadDaemonKeyInTheConfigFile_ExitCode2OneLineNamingKeyAndFile(string entry, string expected)
    {
        string config = Path.Combine(Path.GetTempPath(), $"tunstack-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, $"{{ {entry} }}");
        try
        {
            AssertOneLine(2, TunstackProcess.Run(null, "up", "--config", config), expected.Replace("FILE", config, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void Nc_ListenWithTwoArguments_ExitCode2()
        => AssertOneLine(2, TunstackProcess.Run(null, "nc", "-l", "10.0.0.1", "80"), "listen mode takes one argument");

    [Fact]
    public void Ping_BadHost_ExitCode2()
        => AssertOneLine(2, TunstackProcess.Run(null, "ping", "not-an-address"), "'not-an-address' is not an IPv4 or IPv6 address");

    [SkippableFact]
    public void Up_MissingDevTun_Simulated_SaysHowToLoadIt()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        var environment = new Dictionary<string, string> { ["TUNSTACK_TUN_DEVICE"] = "/nonexistent/net/tun" };
        AssertOneLine(1, TunstackProcess.RunWith(environment, null, "up", "--netns", reserved.Name), "modprobe tun");
        Assert.False(TestNamespace.Exists(reserved.Name), "a failed start removes the namespace it created");
    }

    /// <summary>A private copy of the TUN clone device, mode 0666 as most distributions ship it (the host's node is left alone).</summary>
    internal static string AccessibleTunNode()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"tstk-dev-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string node = Path.Combine(dir, "tun");
        Assert.Equal(0, CaptureTests.Run("mknod", "-m", "0666", node, "c", "10", "200").ExitCode);
        CaptureTests.Run("chmod", "0755", dir);
        return node;
    }

    private static string[] AsNobody(string node, params string[] args) => AsNobodyRunning(TunstackProcess.Dll, node, args);

    /// <summary>The command line that runs <paramref name="dll"/> as user nobody with no capabilities, its TUN clone device at <paramref name="node"/>.</summary>
    internal static string[] AsNobodyRunning(string dll, string node, params string[] args)
        => new[] { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "env", "DOTNET_CLI_HOME=/tmp", "HOME=/tmp",
                   $"TUNSTACK_TUN_DEVICE={node}", "dotnet", dll }.Concat(args).ToArray();

    [SkippableFact]
    public void Up_WithoutCapNetAdmin_NamesTheCapability()
    {
        TunRequirements.Require(("setpriv", "util-linux"));
        using TestNamespace ns = TestNamespace.Create();
        string node = AccessibleTunNode();
        try
        {
            // Inside a namespace the test made, as an unprivileged user: TUNSETIFF is refused.
            AssertOneLine(1, ns.Exec(AsNobody(node, "up")), "needs CAP_NET_ADMIN");
            AssertOneLine(1, ns.Exec(AsNobody(node, "up")), "tunstack demo");
            // Creating a namespace needs CAP_SYS_ADMIN, and the message says so.
            AssertOneLine(1, ns.Exec(AsNobody(node, "up", "--netns", TestNamespace.NewName())), "needs CAP_SYS_ADMIN");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(node)!, recursive: true);
        }
    }

    [SkippableFact]
    public void Up_TunNodeThisUserMayNotOpen_SaysSoWithoutAdviceToWeakenIt()
    {
        TunRequirements.Require(("setpriv", "util-linux"));
        using TestNamespace ns = TestNamespace.Create();
        string node = AccessibleTunNode();
        CaptureTests.Run("chmod", "0600", node);
        try
        {
            (int code, string output, string errors) = ns.Exec(AsNobody(node, "up"));
            AssertOneLine(1, (code, output, errors), "this user may not open");
            Assert.Contains("docs/daemon.md", errors);
            Assert.DoesNotContain("chmod", errors);
            Assert.Equal(new[] { "lo" }, ns.Links());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(node)!, recursive: true);
        }
    }

    [Fact]
    public void CapabilityAdvice_EachCapability_TheFixDaemonDocRecommends()
    {
        string doc = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "daemon.md"));
        string netAdmin = TunException.CapabilityAdvice("creating TUN device x");
        string sysAdmin = TunException.CapabilityAdvice("creating network namespace x", "CAP_SYS_ADMIN");
        Assert.Contains("AmbientCapabilities=CAP_NET_ADMIN", netAdmin);
        Assert.Contains("AmbientCapabilities=CAP_NET_ADMIN", doc);
        Assert.Contains("NetworkNamespacePath=", sysAdmin);
        Assert.Contains("NetworkNamespacePath=", doc);
        Assert.DoesNotContain("AmbientCapabilities=CAP_SYS_ADMIN", sysAdmin);
        foreach (string advice in new[] { netAdmin, sysAdmin })
        {
            // Library text, shown by embedding apps too: no CLI command, no weakened device permissions.
            Assert.DoesNotContain("tunstack demo", advice);
            Assert.DoesNotContain("chmod", advice);
        }
    }

    [SkippableFact]
    public void Up_AsUnprivilegedUser_AttachesToTheirPersistentTun()
    {
        // docs/daemon.md: root makes a persistent TUN owned by a user once; the user's daemon then
        // attaches to it without any capability.
        TunRequirements.Require(("setpriv", "util-linux"), ("ping", "iputils-ping"));
        using TestNamespace ns = TestNamespace.Create();
        ns.AddPersistentTun("tun1", "10.79.0.1/24", user: "65534");
        string node = AccessibleTunNode();
        using TunstackProcess daemon = TunstackProcess.StartCommand("ip", null, new[] { "netns", "exec", ns.Name }.Concat(AsNobody(node, "up", "--tun", "tun1", "--address", "10.79.0.2/24")).ToArray());
        try
        {
            daemon.WaitForLine("ready:");
            (int code, string output, _) = ns.Exec("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.79.0.2");
            Assert.True(code == 0, output);
            // ip netns exec runs setpriv, which execs env and then dotnet: the PID is the daemon's.
            Assert.Equal(0, daemon.Terminate());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(node)!, recursive: true);
        }
    }

    [SkippableFact]
    public void Up_TunNameInUse_ExitCode1OneLine()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess first = TunstackProcess.Start(null, "up", "--netns", ns.Name, "--tun", "tstk0");
        first.WaitForLine("ready:");
        AssertOneLine(1, TunstackProcess.Run(null, "up", "--netns", ns.Name, "--tun", "tstk0"), "in use");
        Assert.Equal(0, first.Terminate());
    }
}
