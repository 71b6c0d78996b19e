using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using TunStack.Tests.Cli;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>
/// tunstack up run as operators run services: under (a socket playing) systemd with a watchdog,
/// with its log for the journal, scraped by Prometheus at /metrics and read by dotnet-counters.
/// </summary>
public class DaemonOperationsTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public void Up_UnderSystemdWithWatchdog_ReadyAfterReadyLineStatusPingsThenStopping()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        using var systemd = new FakeSystemd();
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.NotifySocket, ["WATCHDOG_USEC"] = "400000" };
        using TunstackProcess daemon = TunstackProcess.Start(environment, "up", "--netns", reserved.Name, "--serve", "echo", "--log-format", "journal");

        string ready = systemd.WaitFor("READY=1", s_wait);
        Assert.StartsWith("<6>ready: tun tunstack0 in netns " + reserved.Name, daemon.WaitForLine("ready:"), StringComparison.Ordinal);
        Assert.Contains("STATUS=ready; packets in ", ready, StringComparison.Ordinal);
        systemd.WaitFor("STATUS=tcp connections 0 (0 in TIME-WAIT)", s_wait);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (systemd.Count("WATCHDOG=1") < 4)
        {
            Assert.True(clock.Elapsed < s_wait, $"fewer than 4 WATCHDOG=1 in {s_wait.TotalSeconds} s: {string.Join(" | ", systemd.Seen)}");
            Thread.Sleep(50);
        }

        Assert.DoesNotContain(systemd.Seen, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));
        reserved.StopAndExpectRemovedBy(daemon);
        systemd.WaitFor("STOPPING=1", s_wait);
        Assert.All(daemon.Output.Split('\n'), line => Assert.Matches(new Regex("^<[3467]>[^<]"), line));
    }

    [SkippableFact]
    public void Forward_UnderSystemdWithWatchdog_ReadyPingsThenStopping()
    {
        TunRequirements.Require();
        using TestNamespace host = TestNamespace.Create(); // forward runs here, as if it were the host's namespace
        using TestNamespace app = TestNamespace.Reserve();
        using var systemd = new FakeSystemd();
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.NotifySocket, ["WATCHDOG_USEC"] = "400000" };
        using TunstackProcess forward = TunstackProcess.StartCommand("ip", environment, "netns", "exec", host.Name, "dotnet", TunstackProcess.Dll, "forward", "--netns", app.Name, "--log-format", "journal");

        systemd.WaitFor("READY=1", s_wait);
        Assert.StartsWith("<6>ready: forwarding " + app.Name, forward.WaitForLine("ready:"), StringComparison.Ordinal);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (systemd.Count("WATCHDOG=1") < 3)
        {
            Assert.True(clock.Elapsed < s_wait, $"fewer than 3 WATCHDOG=1 in {s_wait.TotalSeconds} s: {string.Join(" | ", systemd.Seen)}");
            Thread.Sleep(50);
        }

        app.StopAndExpectRemovedBy(forward);
        systemd.WaitFor("STOPPING=1", s_wait);
    }

    [SkippableFact]
    public void Up_ServeHttpAfterAnEchoConnection_MetricsIsPrometheusTextWithTheCounters()
    {
        TunRequirements.Require(("curl", "curl"), ("/usr/bin/python3", "python3"));
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name, "--serve", "echo,http", "--log-format", "json");
        Assert.Equal("hi", Assert.Single(reserved.PythonLines("""
import socket
s = socket.create_connection(("10.77.0.2", 7))
s.sendall(b"hi")
print(s.recv(10).decode())
s.close()
""")));

        (int code, string output, string errors) = reserved.Exec("curl", "-s", "-D", "-", "--max-time", "10", "http://10.77.0.2/metrics");
        Assert.True(code == 0, $"curl: {errors}");
        Assert.Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8", output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("# TYPE tunstack_tcp_passive_opens_total counter\n", output, StringComparison.Ordinal);
        int passiveOpens = int.Parse(Regex.Match(output, @"\ntunstack_tcp_passive_opens_total (\d+)\n").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(passiveOpens >= 2, $"the echo connection and this request: {passiveOpens}");
        Assert.Contains("tunstack_packets_dropped_total{reason=\"TcpBadChecksum\"} 0\n", output, StringComparison.Ordinal);
        Assert.Contains("# TYPE tunstack_tcp_connections gauge\n", output, StringComparison.Ordinal);
        Assert.Contains("# TYPE tunstack_tcp_smoothed_rtt_seconds histogram\n", output, StringComparison.Ordinal);
        Assert.All(daemon.Output.Split('\n'), line => JsonDocument.Parse(line).Dispose());
        reserved.StopAndExpectRemovedBy(daemon);
        Assert.Contains("\"counters\":{\"LinkReceived\":", daemon.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Up_Running_DotnetCountersCollectReadsTheTunStackMeter()
    {
        TunRequirements.Require();
        string counters = Path.Combine(RepositoryRoot.Path, ".tools", "dotnet-counters");
        if (!File.Exists(counters) && Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"{counters} is required under CI=true: ./test.sh installs it (dotnet tool install dotnet-counters --tool-path .tools).");
        }

        Skip.If(!File.Exists(counters), $"{counters} not installed: dotnet tool install dotnet-counters --tool-path .tools (./test.sh does)");
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name, "--serve", "echo");
        Assert.Equal(0, reserved.Exec("ping", "-c", "2", "-i", "0.2", "10.77.0.2").Code);
        string file = Path.Combine(Path.GetTempPath(), $"tunstack-counters-{Guid.NewGuid():N}.json");
        try
        {
            (int code, string output, string errors) = CaptureTests.Run(counters, "collect", "-p", daemon.Id.ToString(CultureInfo.InvariantCulture),
                "--counters", "TunStack", "--format", "json", "-o", file, "--duration", "00:00:00:04", "--refresh-interval", "1");
            Assert.True(code == 0, $"dotnet-counters: {output}{errors}");
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(file));
            JsonElement[] events = document.RootElement.GetProperty("Events").EnumerateArray().ToArray();
            Assert.All(events, e => Assert.Equal("TunStack", e.GetProperty("provider").GetString()));
            string[] names = events.Select(e => e.GetProperty("name").GetString()!).ToArray();
            Assert.Contains(names, n => n.StartsWith("tunstack.icmp_echo_requests ", StringComparison.Ordinal));
            Assert.Contains(names, n => n.StartsWith("tunstack.tcp.connections ", StringComparison.Ordinal));
            Assert.Contains(events, e => e.GetProperty("name").GetString()!.StartsWith("tunstack.packets_dropped ", StringComparison.Ordinal)
                && e.GetProperty("tags").GetString() == "reason=UdpNoPort");
        }
        finally
        {
            File.Delete(file);
        }

        reserved.StopAndExpectRemovedBy(daemon);
    }
}
