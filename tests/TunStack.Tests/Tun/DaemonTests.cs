using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>
/// tunstack up on a real TUN device inside a namespace each test creates; the Linux kernel and its
/// tools (ping, socat, Python sockets, tshark) are the peer and the judges.
/// </summary>
public class DaemonTests
{
    private const string Stack4 = "10.77.0.2", Stack6 = "fd77::2";

    // A UDP client in the kernel: sends each size to HOST:PORT, prints the length and SHA-256 of each reply.
    private const string UdpClient = """
import socket, sys, hashlib, os
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((host, port))
for size in map(int, sys.argv[3:]):
    data = os.urandom(size)
    s.send(data)
    try:
        back = s.recv(70000)
    except ConnectionRefusedError:
        print("ECONNREFUSED"); break
    except socket.timeout:
        print("timeout"); break
    print(len(back), "same" if back == data else "different")
""";

    private static TunstackProcess StartDaemon(string netns, params string[] extra) => TunstackProcess.StartDaemon(netns, extra);

    [SkippableFact]
    public void KernelPingsStack_V4AndV6_Replies()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name);
        (int code4, string out4, _) = ns.Exec("ping", "-c", "3", "-i", "0.2", "-W", "2", Stack4);
        (int code6, string out6, _) = ns.Exec("ping", "-c", "3", "-i", "0.2", "-W", "2", Stack6);
        Assert.True(code4 == 0, out4);
        Assert.Contains("3 received", out4);
        Assert.True(code6 == 0, out6);
        Assert.Contains("3 received", out6);
        Assert.Equal(0, daemon.Terminate());
        Assert.Contains("IcmpEchoRepliesSent=6", daemon.Output);
    }

    [SkippableFact]
    public void KernelUdpToEchoAndDiscard_BytesBackAndCounted()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name, "--serve", "echo,discard=9009,daytime,chargen");

        // socat from the kernel side to the echo service (RFC 862).
        (int code, string output, string errors) = ns.Exec("sh", "-c", $"echo 'hello from the kernel' | socat -t 2 - UDP4:{Stack4}:7");
        Assert.True(code == 0, errors);
        Assert.Equal("hello from the kernel", output.Trim());

        Assert.Equal(new[] { "1 same", "1000 same", "1452 same" }, ns.PythonLines(UdpClient, Stack6, "7", "1", "1000", "1452"));

        // daytime (RFC 867) and chargen (RFC 864) answer any datagram.
        (code, output, _) = ns.Exec("sh", "-c", $"echo x | socat -t 2 - UDP4:{Stack4}:13");
        Assert.Contains("UTC", output);
        (code, output, _) = ns.Exec("sh", "-c", $"echo x | socat -t 2 - UDP4:{Stack4}:19");
        Assert.True(output.Length <= 512);

        // discard (RFC 863) counts and stays silent.
        (code, _, errors) = ns.Python("""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(10): s.sendto(b"d" * 100, ("10.77.0.2", 9009))
""");
        Assert.True(code == 0, errors);
        Thread.Sleep(300);
        Assert.Equal(0, daemon.Terminate());
        Assert.Contains("udp discard 10 datagrams 1000 bytes", daemon.Output);
    }

    [SkippableFact]
    public void KernelUdpToClosedPort_PortUnreachable_KernelSeesEconnrefused()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name);
        foreach (string host in new[] { Stack4, Stack6 })
        {
            Assert.Equal("ECONNREFUSED", ns.PythonLines(UdpClient, host, "4444", "10", "10").Last());
        }

        Assert.Equal(0, daemon.Terminate());
        Assert.Contains("UdpNoPort=", daemon.Output);
    }

    [SkippableFact]
    public void LargeDatagrams_8000And60000_FragmentedBothWaysBytesIdentical()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name, "--mtu", "1500");
        foreach (string host in new[] { Stack4, Stack6 })
        {
            // Kernel -> stack fragments are reassembled by the stack; the echo goes back as
            // fragments made by the stack and reassembled by the kernel.
            Assert.Equal(new[] { "8000 same", "60000 same" }, ns.PythonLines(UdpClient, host, "7", "8000", "60000"));
        }

        Assert.Equal(0, daemon.Terminate());
        Assert.Contains("Ipv4Reassembled=2", daemon.Output);
        Assert.Contains("Ipv6Reassembled=2", daemon.Output);
        Assert.Contains("Ipv4FragmentsCreated=", daemon.Output);
        Assert.Contains("Ipv6FragmentsCreated=", daemon.Output);
    }

    [SkippableFact]
    public void TunstackPing_StackToKernel_V4AndV6()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        foreach (string kernel in new[] { "10.77.0.1", "fd77::1" })
        {
            (int code, string output, string errors) = TunstackProcess.Run(null, "ping", kernel, "--netns", ns.Name, "-c", "3", "-i", "0.2");
            Assert.True(code == 0, output + errors);
            Assert.Contains($"bytes from {kernel}: icmp_seq=1 time=", output);
            Assert.Contains("3 packets transmitted, 3 received, 0% packet loss", output);
            Assert.Contains("rtt min/avg/max/mdev = ", output);
        }
    }

    [SkippableFact]
    public void TunstackNcUdp_ToKernelSocat_EchoedIncluding60000Bytes()
    {
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        ns.Exec("ip", "link", "set", "lo", "up");
        using NamespaceProcess server = ns.Start("socat", "-b", "65536", "-T", "20", "UDP-RECVFROM:5555,fork", "EXEC:cat");
        (int code, string output, string errors) = TunstackProcess.Run("hello kernel\n", "nc", "-u", "10.77.0.1", "5555", "--netns", ns.Name);
        Assert.True(code == 0, errors);
        Assert.Equal("hello kernel\n", output);

        string big = new string('z', 59999) + "\n";
        (code, output, errors) = TunstackProcess.Run(big, "nc", "-u", "10.77.0.1", "5555", "--netns", ns.Name, "-q", "2");
        Assert.True(code == 0, errors);
        Assert.Equal(big.Length, output.Length);

        (code, _, errors) = TunstackProcess.Run("nobody\n", "nc", "-u", "10.77.0.1", "5999", "--netns", ns.Name);
        Assert.Equal(1, code);
        Assert.Contains("connection refused", errors);
    }

    [SkippableFact]
    public void TunstackNcUdpListen_StandardInputAtItsEnd_WaitsForTheFirstDatagram()
    {
        // As netcat does: a UDP listener with nothing to send still waits for its peer; -q counts
        // from the peer's last datagram once standard input has ended.
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        Task<(int Code, string Output, string Errors)> listener = Task.Run(() => TunstackProcess.Run(string.Empty, "nc", "-u", "-l", "6000", "--netns", ns.Name, "-q", "1"));
        ns.WaitForAddress("10.77.0.1");
        Thread.Sleep(2000);
        Assert.False(listener.IsCompleted, "nc -u -l quit before any datagram came");
        ns.Exec("sh", "-c", $"echo 'late datagram' | socat -t 0.1 - UDP4:{Stack4}:6000");
        (int code, string output, string errors) = listener.Result;
        Assert.True(code == 0, errors);
        Assert.Equal("late datagram\n", output);
    }

    [SkippableFact]
    public void DaemonDoc_PingAndNcExamples_RunAsWritten()
    {
        // The block under "## ping and nc" in docs/daemon.md, run by bash as it stands, with only
        // sudo dropped, ./tunstack the CLI under test and the namespace "demo" given a fresh name.
        TunRequirements.Require(("socat", "socat"));
        string doc = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "daemon.md"));
        string section = doc[doc.IndexOf("## ping and nc", StringComparison.Ordinal)..];
        int start = section.IndexOf("```\n", StringComparison.Ordinal) + 4;
        string block = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        using TestNamespace reserved = TestNamespace.Reserve();
        string script = System.Text.RegularExpressions.Regex.Replace(block, @"\bdemo\b", reserved.Name)
            .Replace("sudo ", string.Empty, StringComparison.Ordinal)
            .Replace("./tunstack", $"dotnet {TunstackProcess.Dll}", StringComparison.Ordinal);
        string directory = Directory.CreateTempSubdirectory("tunstack-doc-").FullName;
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo("bash") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "-e", "-c", script })
            {
                psi.ArgumentList.Add(a);
            }

            using var bash = System.Diagnostics.Process.Start(psi)!;
            Task<string> output = bash.StandardOutput.ReadToEndAsync();
            Task<string> errors = bash.StandardError.ReadToEndAsync();
            Assert.True(bash.WaitForExit(120_000), "the doc's commands did not finish in 120 s");
            Assert.True(bash.ExitCode == 0, $"exit {bash.ExitCode}\n{output.Result}\n{errors.Result}");
            Assert.Contains("3 packets transmitted, 3 received", output.Result);
            Assert.Contains("over UDP\n", output.Result);
            Assert.EndsWith("over TCP\nto the stack\na datagram\n", output.Result, StringComparison.Ordinal);
            Assert.False(TestNamespace.Exists(reserved.Name));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TunstackNcHelp_WaitOption_NamedForWhatItDoes()
    {
        (int code, string output, _) = TunstackProcess.Run(null, "nc", "--help");
        Assert.Equal(0, code);
        Assert.Contains("-q, --quit-after", output);
        Assert.DoesNotContain("--quiet", output);
    }

    [SkippableFact]
    public void TunstackNcUdpListen_KernelSocatSends_ReceivedOnStdout()
    {
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess listener = TunstackProcess.Start(null, "nc", "-u", "-l", "6000", "--netns", ns.Name, "-q", "3");
        ns.WaitForAddress("10.77.0.1");
        ns.Exec("sh", "-c", $"echo 'to the listener' | socat -t 1 - UDP4:{Stack4}:6000");
        listener.WaitForLine("to the listener");
    }

    [SkippableFact]
    public void PersistentTun_Attach_WorksAndDeviceRemainsConfiguredAfterStop()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace ns = TestNamespace.Create();
        ns.AddPersistentTun("tun0", "10.78.0.1/24");
        using (TunstackProcess daemon = StartDaemon(ns.Name, "--tun", "tun0", "--address", "10.78.0.2/24"))
        {
            Assert.Contains("attached", daemon.Output);
            (int code, string output, _) = ns.Exec("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.78.0.2");
            Assert.True(code == 0, output);
            Assert.Equal(0, daemon.Terminate());
        }

        (int show, string link, _) = ns.Exec("ip", "addr", "show", "dev", "tun0");
        Assert.Equal(0, show);
        Assert.Contains("10.78.0.1/24", link);
    }

    [SkippableFact]
    public void DaemonCapture_ReadByTshark_NoMalformedPackets()
    {
        TunRequirements.Require(("ping", "iputils-ping"), ("/usr/bin/python3", "python3"));
        string tshark = CaptureTests.RequireTool("tshark", "tshark");
        string file = Path.Combine(Path.GetTempPath(), $"tunstack-daemon-{Guid.NewGuid():N}.pcapng");
        try
        {
            using TestNamespace ns = TestNamespace.Create();
            using (TunstackProcess daemon = StartDaemon(ns.Name, "--capture", file))
            {
                ns.Exec("ping", "-c", "2", "-i", "0.2", Stack4);
                ns.Exec("ping", "-c", "2", "-i", "0.2", Stack6);
                ns.Python(UdpClient, Stack4, "7", "5000");
                ns.Python(UdpClient, Stack6, "4444", "10");
                Assert.Equal(0, daemon.Terminate());
            }

            (int code, string output, string errors) = CaptureTests.Run(tshark, "-r", file, "-T", "fields", "-e", "frame.protocols", "-e", "_ws.malformed");
            Assert.True(code == 0, errors);
            string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 12, output);
            Assert.DoesNotContain(lines, l => l.Contains("malformed", StringComparison.OrdinalIgnoreCase));
            Assert.Contains(lines, l => l.StartsWith("raw:ip:icmp", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("raw:ipv6:icmpv6", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public void SigtermDuringTraffic_StopsCleanly_CreatedNamespaceRemoved()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace reserved = TestNamespace.Reserve();
        string name = reserved.Name;
        using TunstackProcess daemon = StartDaemon(name);
        Assert.Contains($"created network namespace {name}", daemon.Output);
        using NamespaceProcess flood = NamespaceProcess.Start(name, "ping", "-i", "0.01", "-c", "300", "-W", "1", Stack4);
        Thread.Sleep(1000);
        Assert.Equal(0, daemon.Terminate());
        flood.WaitForExit(10_000);
        Assert.Contains("removed TUN device tunstack0", daemon.Output);
        reserved.ExpectRemovedBy(daemon);
    }

    [SkippableFact]
    public void ConfigFile_SettingsApplied_CommandLineWins()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        string config = Path.Combine(Path.GetTempPath(), $"tunstack-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, """
            {
              // comments are allowed
              "tun": "cfg0",
              "addresses": ["10.88.0.2/24"],
              "peers": ["10.88.0.1"],
              "serve": "echo=7007",
              "mtu": 1400
            }
            """);
        try
        {
            using TunstackProcess daemon = StartDaemon(ns.Name, "--config", config, "--mtu", "1300");
            string ready = daemon.WaitForLine("ready:");
            Assert.Contains("tun cfg0", ready);
            Assert.Contains("mtu 1300", ready);
            Assert.Contains("stack 10.88.0.2/24", ready);
            Assert.Contains("udp echo:7007", ready);
            Assert.Contains("mtu 1300", ns.Exec("ip", "link", "show", "cfg0").Output);
            Assert.Equal(new[] { "100 same", "3000 same" }, ns.PythonLines(UdpClient, "10.88.0.2", "7007", "100", "3000"));
            Assert.Equal(0, daemon.Terminate());
        }
        finally
        {
            File.Delete(config);
        }
    }

    [SkippableFact]
    public void MultiQueueWithVnetHeader_PingAndUdpEcho_Work()
    {
        TunRequirements.Require(("ping", "iputils-ping"), ("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name, "--queues", "2", "--vnet-hdr");
        (int code, string output, _) = ns.Exec("ping", "-c", "4", "-i", "0.2", "-W", "2", Stack4);
        Assert.True(code == 0, output);
        Assert.Equal(new[] { "1200 same", "9000 same" }, ns.PythonLines(UdpClient, Stack6, "7", "1200", "9000"));
        Assert.Equal(0, daemon.Terminate());
    }

    [SkippableFact]
    public void Sigint_StopsCleanlyLikeSigterm()
    {
        TunRequirements.Require();
        TunRequirements.RequireSignalNotIgnored(2, "SIGINT");
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name);
        Assert.Equal(0, daemon.Terminate(signal: "INT"));
        Assert.Contains("SIGINT received: stopping", daemon.Output);
        Assert.Contains("removed TUN device tunstack0", daemon.Output);
        Assert.EndsWith("info  stopped", daemon.Output.TrimEnd());
    }

    [SkippableFact]
    public void ExistingNamespace_KeptAfterStop_DeviceGone()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        using (TunstackProcess daemon = StartDaemon(ns.Name))
        {
            Assert.Equal(0, daemon.Terminate());
        }

        Assert.True(TestNamespace.Exists(ns.Name));
        Assert.Equal(new[] { "lo" }, ns.Links());
    }
}
