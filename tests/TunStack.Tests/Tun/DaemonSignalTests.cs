namespace TunStack.Tests.Tun;

/// <summary>
/// tunstack up answers signals as a daemon does: SIGHUP reloads the config file, SIGUSR1 writes its
/// state to the log, and neither kills it; after each, the namespace it made is there while it runs
/// and gone after it stops. Its log lines say what they mean in plain words.
/// </summary>
public class DaemonSignalTests
{
    private const string UdpEcho = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("10.77.0.2", int(sys.argv[1])))
s.send(b"hello")
try:
    print(s.recv(100).decode())
except ConnectionRefusedError:
    print("ECONNREFUSED")
except socket.timeout:
    print("timeout")
""";

    [SkippableFact]
    public void Up_Sighup_ConfigReadAgain_ServicesLogLevelImpairmentChangeLive()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("ping", "iputils-ping"));
        using TestNamespace reserved = TestNamespace.Reserve();
        string config = Path.Combine(Path.GetTempPath(), $"tunstack-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, """{ "serve": "echo", "mtu": 1500 }""");
        try
        {
            using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name, "--config", config, "--address", "10.77.0.2/24");
            Assert.Equal("hello", Assert.Single(reserved.PythonLines(UdpEcho, "7")));

            File.WriteAllText(config, """{ "serve": "echo=7007", "mtu": 1400, "logLevel": "debug", "impairOut": "loss=100%" }""");
            daemon.Signal("HUP");
            Assert.Contains("tcp echo:7007; udp echo:7007", daemon.WaitForLine("SIGHUP: reloaded"));
            Assert.Contains($"SIGHUP: 'mtu' in {config} is now 1400, which takes a restart; 1500 stays", daemon.Output);
            Assert.Contains("SIGHUP: log level info -> debug", daemon.Output);
            Assert.Contains("SIGHUP: impairing: received none; sent loss=100%; seed 1", daemon.Output);
            Assert.NotEqual(0, reserved.Exec("ping", "-c", "2", "-i", "0.2", "-W", "1", "10.77.0.2").Code);

            File.WriteAllText(config, """{ "serve": "echo=7007", "logLevel": "debug" }""");
            daemon.Signal("HUP");
            daemon.WaitForLine("SIGHUP: reloaded", occurrence: 2);
            Assert.Equal("hello", Assert.Single(reserved.PythonLines(UdpEcho, "7007")));
            Assert.Equal("ECONNREFUSED", Assert.Single(reserved.PythonLines(UdpEcho, "7")));
            daemon.WaitForLine("debug udp echo: 5 bytes from");

            File.WriteAllText(config, """{ "sevre": "echo" }""");
            daemon.Signal("HUP");
            Assert.Contains("unknown key 'sevre' (did you mean 'serve'?); the running settings stay", daemon.WaitForLine("SIGHUP: --config"));
            Assert.True(TestNamespace.Exists(reserved.Name));
            Assert.Equal("hello", Assert.Single(reserved.PythonLines(UdpEcho, "7007")));

            reserved.StopAndExpectRemovedBy(daemon);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [SkippableFact]
    public void Up_Sigusr1_CountersAndConnectionsLogged_KeepsRunning()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name);
        using NamespaceProcess client = reserved.Start("/usr/bin/python3", "-c", """
import socket, time
s = socket.create_connection(("10.77.0.2", 7))
s.sendall(b"x")
s.recv(1)
print("connected", flush=True)
time.sleep(20)
""");
        Assert.Equal("connected", client.StandardOutput.ReadLine());
        daemon.Signal("USR1");
        daemon.WaitForLine("SIGUSR1: the state of the stack follows");
        Assert.Contains("tcp echo 1 connections 1 bytes in 1 bytes out", daemon.WaitForLine("tcp echo "));
        Assert.Contains(": Established, 0 bytes unread, srtt ", daemon.WaitForLine("tcp 10.77.0.2:7 to 10.77.0.1:"));
        Assert.Contains("TcpPassiveOpens=1", daemon.WaitForLine("counters: "));
        Assert.True(TestNamespace.Exists(reserved.Name));

        daemon.Signal("USR1");
        daemon.WaitForLine("SIGUSR1: the state of the stack follows", occurrence: 2);
        Assert.Equal(0, daemon.Terminate());
        Assert.False(TestNamespace.Exists(reserved.Name));
    }

    [SkippableFact]
    public void Up_KilledWithSigkill_NextRunJoinsWhatWasLeftAndRemovesIt()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        int first;
        using (TunstackProcess killed = TunstackProcess.StartDaemon(reserved.Name))
        {
            first = killed.Id;
            killed.Signal("KILL");
            killed.WaitForExit();
        }

        Assert.True(TestNamespace.Exists(reserved.Name), "SIGKILL leaves the namespace behind");
        using TunstackProcess next = TunstackProcess.StartDaemon(reserved.Name);
        Assert.Contains($"joined network namespace {reserved.Name} (left by tunstack PID {first}, which is no longer running; removed when the last TunStack process leaves it)", next.Output);
        reserved.StopAndExpectRemovedBy(next);
    }

    [SkippableFact]
    public void Up_CaptureCannotBeWritten_StackStopsSayingWhy_RemovesWhatItMade()
    {
        // /dev/full takes the capture's first blocks into its buffer and refuses the flush (ENOSPC):
        // the stack's loop ends, and the daemon must notice, say why, and still clean up.
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name, "--capture", "/dev/full");
        reserved.Exec("ping", "-c", "20", "-i", "0.01", "-s", "1000", "-W", "1", "10.77.0.2");
        Assert.Equal(1, daemon.WaitForExit());
        Assert.Contains("No space left on device", daemon.WaitForLine("error the stack stopped: "));
        reserved.ExpectRemovedBy(daemon);
    }

    [SkippableFact]
    public void Up_UnhandledExceptionAfterReady_CrashHandlerSaysWhyAndRemovesWhatItMade()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.Start(new Dictionary<string, string> { ["TUNSTACK_FAULT"] = "crash" }, "up", "--netns", reserved.Name);
        Assert.NotEqual(0, daemon.WaitForExit());
        Assert.Contains("fault injected by TUNSTACK_FAULT=crash", daemon.WaitForLine("crashed: "));
        reserved.ExpectRemovedBy(daemon);
    }

    [SkippableFact]
    public void Up_ImpairedAndIdle_LogLinesInPlainWordsNoneEmpty()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name, "--address", "10.77.0.2/24", "--serve", "", "--impair", "loss=1%,delay=2ms,seed=7");
        Assert.Equal(0, daemon.Terminate());
        string[] messages = daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries)[2]).ToArray();
        Assert.Contains("impairing: received loss=1%,delay=2ms; sent loss=1%,delay=2ms; seed 7", messages);
        Assert.Contains(messages, m => m.StartsWith("ready: ", StringComparison.Ordinal) && m.Contains("tcp none; udp none", StringComparison.Ordinal));
        Assert.Contains("services: none ran", messages);
        Assert.Contains(messages, m => m.StartsWith("counters: ", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains(" { ", StringComparison.Ordinal) || m.TrimEnd().EndsWith(':') || m.Contains(": ;", StringComparison.Ordinal));
    }
}
