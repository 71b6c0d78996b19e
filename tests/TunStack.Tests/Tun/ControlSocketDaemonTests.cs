using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>
/// <c>tunstack up</c>'s control socket with the real CLI on both ends: the daemon on a TUN in a
/// namespace the test makes, <c>tunstack ss</c>, <c>stats</c> and <c>status</c> run as separate
/// processes against it, and a client of another uid (setpriv, as root) refused.
/// </summary>
public class ControlSocketDaemonTests
{
    private const string HeldConnection = """
import socket, time
s = socket.create_connection(("10.77.0.2", 7))
s.sendall(b"hello")
s.recv(5)
print(s.getsockname()[1], flush=True)
time.sleep(30)
""";

    [SkippableFact]
    public void Up_ConnectionOpen_SsStatsStatusAnswerThroughTheControlSocket_SocketGoneAfterStop()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = StartDaemon(reserved, out string socket);
        using NamespaceProcess client = reserved.Start("/usr/bin/python3", "-c", HeldConnection);
        string port = client.StandardOutput.ReadLine()!;

        (int code, string output, string errors) = TunstackProcess.Run(null, "ss", "-t", "-a", "-n", "--name", reserved.Name);
        Assert.True(code == 0, errors);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("State  Recv-Q Send-Q Local Address:Port Peer Address:Port  Process", lines[0]);
        Assert.Contains("LISTEN 0      4096               *:7               *:*", lines);
        Assert.Contains($"ESTAB  0      0          10.77.0.2:7       10.77.0.1:{port}", lines);

        (code, output, errors) = TunstackProcess.Run(null, "ss", "-tnop", "--name", reserved.Name, "state", "established", "(", "sport", "=", ":7", "or", "sport", "=", ":9", ")");
        Assert.True(code == 0, errors);
        Assert.Matches($@"\nESTAB +0 +0 +10\.77\.0\.2:7 +10\.77\.0\.1:{port} +users:\(\(""tunstack"",pid={daemon.Id}\)\)", output);
        Assert.Equal(2, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        (code, output, errors) = TunstackProcess.Run(null, "ss", "-ti", "--name", reserved.Name);
        Assert.True(code == 0, errors);
        Assert.Matches(@"\n\t ts sack cubic wscale:\d+,\d+ rto:\d+ rtt:[\d.]+/[\d.]+ mss:1448 cwnd:\d+ bytes_sent:5 bytes_acked:5 bytes_received:5 ", output);

        (code, output, errors) = TunstackProcess.Run(null, "stats", "--name", reserved.Name);
        Assert.True(code == 0, errors);
        Assert.StartsWith($"#tunstack {reserved.Name}: counter, value, change since the daemon started", output);
        Assert.Matches(@"\nTcpPassiveOpens +1 +1\n", output);
        (code, output, errors) = TunstackProcess.Run(null, "stats", "--name", reserved.Name);
        Assert.True(code == 0, errors);
        Assert.Matches(@"\nTcpPassiveOpens +1 +0\n", output);

        // The summary is published once a second: ask until it has counted the connection.
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            (code, output, errors) = TunstackProcess.Run(null, "status", "--name", reserved.Name);
            Assert.True(code == 0, errors);
        }
        while (!output.Contains("tcp 1 connected", StringComparison.Ordinal) && DateTime.UtcNow < deadline);

        Assert.Matches($@"^{reserved.Name} \(tunstack up, pid {daemon.Id}\): up \d+s; addresses 10\.77\.0\.2/24 fd77::2/64; tcp 1 connected, 0 in TIME-WAIT, 4 listening; udp 4 sockets; packets in [\d.]+/s, out [\d.]+/s\n$", output);

        reserved.StopAndExpectRemovedBy(daemon);
        Assert.False(File.Exists(socket), $"{socket} is still there");
        (code, output, _) = TunstackProcess.Run(null, "status", "--name", reserved.Name);
        Assert.Equal((1, string.Empty), (code, output));
    }

    [SkippableFact]
    public void Up_ClientOfAnotherUid_RefusedByModeAndByPeerCredentials()
    {
        TunRequirements.Require(("setpriv", "util-linux"));
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = StartDaemon(reserved, out string socket);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsLinux() ? File.GetUnixFileMode(socket) : UnixFileMode.None);

        // Mode 0600, owned by root: the kernel refuses nobody's connect.
        (int code, string output, string errors) = AsNobody("status", "--name", reserved.Name);
        Assert.Equal((1, string.Empty), (code, output));
        Assert.Equal($"tunstack: {reserved.Name}: cannot connect to {socket}: permission denied (the daemon runs as another user: run this as root or as that user)\n", errors);

        // Opened up by mistake: the daemon's own check (SO_PEERCRED) still refuses nobody, in one line.
        Assert.Equal(0, CaptureTests.Run("chmod", "0666", socket).ExitCode);
        (code, output, errors) = AsNobody("status", "--name", reserved.Name);
        Assert.Equal((1, string.Empty), (code, output));
        Assert.Equal($"tunstack: {reserved.Name}: permission denied: uid 65534 is neither the daemon's (0) nor root\n", errors);
        daemon.WaitForLine("control: refused a client with uid 65534");

        Assert.Equal(0, TunstackProcess.Run(null, "status", "--name", reserved.Name).Code);
        reserved.StopAndExpectRemovedBy(daemon);
    }

    [SkippableFact]
    public void Up_ControlPathGiven_ListensThere_AnotherDaemonAskingForItRefusedToStart_NoneRunsWithout()
    {
        TunRequirements.Require();
        string directory = Directory.CreateTempSubdirectory("tunstack-control-").FullName;
        string path = Path.Combine(directory, "lab.sock");
        try
        {
            using TestNamespace first = TestNamespace.Reserve();
            using TunstackProcess daemon = TunstackProcess.StartDaemon(first.Name, "--control", path);
            Assert.Contains($"control: {path} (tunstack ss, stats, status --name {path})", daemon.Output);
            (int code, string output, string errors) = TunstackProcess.Run(null, "status", "--name", path);
            Assert.True(code == 0, errors);
            Assert.StartsWith($"lab (tunstack up, pid {daemon.Id}): up ", output);

            using TestNamespace second = TestNamespace.Reserve();
            (code, output, errors) = TunstackProcess.Run(null, "up", "--netns", second.Name, "--control", path);
            Assert.Equal(1, code);
            Assert.Equal($"tunstack: --control: {path} is in use by a running tunstack\n", errors);
            Assert.False(TestNamespace.Exists(second.Name), $"{second.Name} was left behind");

            using TunstackProcess without = TunstackProcess.StartDaemon(second.Name, "--control", "none");
            Assert.DoesNotContain("control:", without.Output);
            second.StopAndExpectRemovedBy(without);
            first.StopAndExpectRemovedBy(daemon);
            Assert.False(File.Exists(path), $"{path} is still there");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [SkippableFact]
    public void Up_ControlAndLogFormatInTheConfigFile_ListensThereAndLogsJson_CommandLineFormatWins()
    {
        TunRequirements.Require();
        string directory = Directory.CreateTempSubdirectory("tunstack-control-").FullName;
        string path = Path.Combine(directory, "from-file.sock");
        string config = Path.Combine(directory, "tunstack.json");
        File.WriteAllText(config, $$"""{ "control": "{{path}}", "logFormat": "json" }""");
        try
        {
            using TestNamespace first = TestNamespace.Reserve();
            using TunstackProcess daemon = TunstackProcess.StartDaemon(first.Name, "--config", config);
            string ready = daemon.WaitForLine("ready:");
            Assert.StartsWith("{", ready.TrimStart(), StringComparison.Ordinal);
            Assert.Contains($"control: {path}", daemon.Output);
            (int code, string output, string errors) = TunstackProcess.Run(null, "status", "--name", path);
            Assert.True(code == 0, errors);
            Assert.StartsWith($"from-file (tunstack up, pid {daemon.Id}): up ", output);
            first.StopAndExpectRemovedBy(daemon);

            using TestNamespace second = TestNamespace.Reserve();
            using TunstackProcess text = TunstackProcess.StartDaemon(second.Name, "--config", config, "--log-format", "text", "--control", "none");
            Assert.Matches(@"^\d{4}-\d\d-\d\dT[\d:.]+Z info  ready: ", text.WaitForLine("ready:").TrimStart());
            Assert.DoesNotContain("control:", text.Output);
            second.StopAndExpectRemovedBy(text);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [SkippableFact]
    public void Up_CrashesAfterReady_ControlSocketRemovedWithTheRest()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.Start(new Dictionary<string, string> { ["TUNSTACK_FAULT"] = "crash" }, "up", "--netns", reserved.Name);
        string socket = $"/run/tunstack/{reserved.Name}.sock";
        Assert.Contains($"control: {socket}", daemon.WaitForLine("control: "));
        Assert.NotEqual(0, daemon.WaitForExit());
        reserved.ExpectRemovedBy(daemon);
        Assert.False(File.Exists(socket), $"{socket} is still there");
    }

    // tunstack up in a namespace of its own, and the control socket its log says it listens on.
    private static TunstackProcess StartDaemon(TestNamespace reserved, out string socket)
    {
        TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name);
        socket = $"/run/tunstack/{reserved.Name}.sock";
        Assert.Contains($"control: {socket} (tunstack ss, stats, status)", daemon.Output);
        return daemon;
    }

    // The CLI as uid and gid 65534 (nobody) with no supplementary groups.
    private static (int Code, string Output, string Errors) AsNobody(params string[] args)
        => CaptureTests.Run("setpriv", new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "env", "DOTNET_CLI_HOME=/tmp", "DOTNET_NOLOGO=1", "dotnet", TunstackProcess.Dll }.Concat(args).ToArray());
}
