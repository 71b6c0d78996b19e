using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>TCP between the user-space stack and the Linux kernel's TCP, through a real TUN in a namespace the test creates.</summary>
public class TcpThroughTunTests
{
    // A kernel TCP client: sends SIZE random bytes to HOST:PORT (echo) on one thread, reads them
    // back on another, prints "SIZE same" when the SHA-256 of both match.
    private const string EchoClient = """
import socket, sys, hashlib, os, threading
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
def one(results, i):
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.create_connection((host, port), timeout=60)
    data = os.urandom(size)
    def sender():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=sender); t.start()
    got = hashlib.sha256(); n = 0
    while True:
        chunk = s.recv(1 << 20)
        if not chunk: break
        got.update(chunk); n += len(chunk)
    t.join(); s.close()
    results[i] = f"{n} {'same' if got.digest() == hashlib.sha256(data).digest() else 'different'}"
results = [None] * count
threads = [threading.Thread(target=one, args=(results, i)) for i in range(count)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(results))
""";

    private static TunstackProcess StartDaemon(string netns, params string[] extra) => TunstackProcess.StartDaemon(netns, extra);

    [SkippableFact]
    public void KernelClientsToTcpServices_EchoDaytimeChargenDiscard_V4AndV6()
    {
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name);
        foreach (string target in new[] { "TCP4:10.77.0.2", "TCP6:[fd77::2]" })
        {
            (int code, string output, string errors) = ns.Exec("sh", "-c", $"echo 'tcp echo works' | socat -t 5 - {target}:7");
            Assert.True(code == 0, errors);
            Assert.Equal("tcp echo works", output.Trim());
            (_, output, _) = ns.Exec("socat", "-u", $"{target}:13", "-");
            Assert.Contains("UTC", output);
            (_, output, _) = ns.Exec("sh", "-c", $"socat -u {target}:19 - 2>/dev/null | head -c 7400");
            Assert.Equal(7400, output.Length);
            Assert.StartsWith(" !\"#$%&'()*+,-./0123456789", output);
        }

        (int c, _, string e) = ns.Exec("sh", "-c", "head -c 10000000 /dev/zero | socat -u - TCP4:10.77.0.2:9");
        Assert.True(c == 0, e);
        Thread.Sleep(300);
        Assert.Equal(0, daemon.Terminate());
        Assert.Contains("tcp discard 1 connections 10000000 bytes in", daemon.Output);
    }

    [SkippableFact]
    public void KernelEcho20MegabytesEachWay_Sha256Matches_V4AndV6()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name);
        foreach (string host in new[] { "10.77.0.2", "fd77::2" })
        {
            Assert.Equal("20000000 same", Assert.Single(ns.PythonLines(EchoClient, host, "7", "20000000")));
        }

        (_, string ss, _) = ns.Exec("ss", "-tin");
        Assert.Equal(0, daemon.Terminate());
        Assert.Contains("tcp echo 2 connections 40000000 bytes in 40000000 bytes out", daemon.Output);
        _ = ss;
    }

    [SkippableFact]
    public void TwoHundredConcurrentKernelClients_EachEchoedExactly()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name);
        string[] lines = ns.PythonLines(EchoClient, "10.77.0.2", "7", "20000", "200");
        Assert.Equal(200, lines.Length);
        Assert.All(lines, l => Assert.Equal("20000 same", l));
        Assert.Equal(0, daemon.Terminate());
    }

    [SkippableFact]
    public void HundredMegabytesEachWay_NcAgainstKernelSocat_Sha256Matches_V4AndV6()
    {
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        string dir = Path.Combine(Path.GetTempPath(), $"tstk-100m-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string input = Path.Combine(dir, "in.bin");
            var data = new byte[100 * 1000 * 1000];
            new Random(7).NextBytes(data);
            File.WriteAllBytes(input, data);
            string expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data));
            string dll = Path.Combine(AppContext.BaseDirectory, "tunstack.dll");
            foreach ((string kernel, string stack, string socatFamily) in new[] { ("10.77.0.1", "10.77.0.2", "TCP4"), ("fd77::1", "fd77::2", "TCP6") })
            {
                // Stack -> kernel: tunstack nc sends the file to a kernel socat that writes it out.
                string toKernel = Path.Combine(dir, "kernel.bin");
                using (NamespaceProcess sink = ns.Start("socat", "-u", $"{socatFamily}-LISTEN:5555,reuseaddr", $"OPEN:{toKernel},creat,trunc"))
                {
                    Thread.Sleep(300);
                    (int code, _, string errors) = CaptureTests.Run("sh", "-c", $"dotnet {dll} nc {kernel} 5555 --netns {ns.Name} < {input}");
                    Assert.True(code == 0, errors);
                    Assert.True(sink.WaitForExit(30_000));
                }

                Assert.Equal(expected, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(toKernel))));

                // Kernel -> stack: a kernel socat sends the file to tunstack nc -l, which writes it out.
                string toStack = Path.Combine(dir, "stack.bin");
                using (TunstackProcess listener = TunstackProcess.StartCommand("sh", null, "-c", $"dotnet {dll} nc -l 6000 --netns {ns.Name} < /dev/null > {toStack}"))
                {
                    ns.WaitForAddress(kernel);
                    (int code, _, string errors) = ns.Exec("socat", "-u", $"OPEN:{input}", $"{socatFamily}:{(stack.Contains(':', StringComparison.Ordinal) ? $"[{stack}]" : stack)}:6000");
                    Assert.True(code == 0, errors);
                    Assert.Equal(0, listener.Terminate(signal: "CONT", timeoutMs: 60_000));
                }

                Assert.Equal(expected, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(toStack))));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public void KernelSide_WindowScaleTimestampsAndSackNegotiated_SsAndCaptureAgree()
    {
        // ss (iproute2 6.1 on this 6.18 kernel) prints wscale but omits "ts" and "sack" even for a
        // kernel-to-kernel connection, so timestamps and SACK are judged from the capture by tshark.
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("ss", "iproute2"));
        string tshark = CaptureTests.RequireTool("tshark", "tshark");
        string file = Path.Combine(Path.GetTempPath(), $"tunstack-opts-{Guid.NewGuid():N}.pcapng");
        try
        {
            using TestNamespace ns = TestNamespace.Create();
            using (TunstackProcess daemon = StartDaemon(ns.Name, "--capture", file))
            {
                using NamespaceProcess client = ns.Start("/usr/bin/python3", "-c", "import socket,time; s=socket.create_connection(('10.77.0.2',7)); s.sendall(b'x'*100000); time.sleep(2)");
                Thread.Sleep(800);
                (_, string ss, _) = ns.Exec("ss", "-tin", "dst", "10.77.0.2");
                Assert.Matches(@"wscale:7,\d+", ss); // our scale 7 (sized for the 4 MiB auto-tuning maximum) as the kernel sees it, and its own
                client.WaitForExit(10_000);
                Assert.Equal(0, daemon.Terminate());
            }

            (_, string synAck, _) = CaptureTests.Run(tshark, "-r", file, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==1 && ip.src==10.77.0.2",
                "-T", "fields", "-e", "tcp.options.sack_perm", "-e", "tcp.options.timestamp.tsval", "-e", "tcp.options.wscale.shift");
            string[] fields = synAck.Trim().Split('\t');
            Assert.True(fields.Length == 3 && fields.All(f => f.Length > 0), $"SYN-ACK options: {synAck}");
            (_, string kernelTs, _) = CaptureTests.Run(tshark, "-r", file, "-Y", "tcp.flags.syn==0 && ip.src==10.77.0.1 && tcp.options.timestamp.tsval",
                "-T", "fields", "-e", "frame.number");
            Assert.NotEmpty(kernelTs.Trim()); // the kernel accepted timestamps: its segments carry them
            (_, string kernelSyn, _) = CaptureTests.Run(tshark, "-r", file, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.options.sack_perm", "-T", "fields", "-e", "frame.number");
            Assert.NotEmpty(kernelSyn.Trim()); // both SYNs carry SACK-permitted: SACK is on (RFC 2018 2)
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public void Hping3SynFlood20000_CookiesKeepServing_RealClientStillConnects()
    {
        TunRequirements.Require(("hping3", "hping3"), ("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = StartDaemon(ns.Name, "--serve", "echo");
        // Spoofed sources never answer our SYN-ACKs, so half-open connections pile up past the
        // backlog and the listener must switch to cookies. Bounded: 20,000 packets.
        using NamespaceProcess flood = ns.Start("hping3", "-q", "-S", "-p", "7", "-i", "u40", "-c", "20000", "--rand-source", "10.77.0.2");
        Thread.Sleep(300);
        Assert.Equal("100000 same", Assert.Single(ns.PythonLines(EchoClient, "10.77.0.2", "7", "100000")));
        Assert.True(flood.WaitForExit(60_000));
        Assert.Equal(0, daemon.Terminate());
        Assert.Matches("TcpSynCookiesSent=[1-9]", daemon.Output);
    }

    [SkippableFact]
    public void TunstackNcTcp_ToKernelSocatEcho_BytesIdentical_RefusedPortReported()
    {
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        using NamespaceProcess server = ns.Start("socat", "TCP-LISTEN:5555,reuseaddr,fork", "EXEC:cat");
        Thread.Sleep(200);
        string text = string.Concat(Enumerable.Range(0, 60_000).Select(i => $"line {i}\n"));
        (int code, string output, string errors) = TunstackProcess.Run(text, "nc", "10.77.0.1", "5555", "--netns", ns.Name);
        Assert.True(code == 0, errors);
        Assert.Equal(text, output);

        (code, _, errors) = TunstackProcess.Run("x\n", "nc", "10.77.0.1", "5999", "--netns", ns.Name);
        Assert.Equal(1, code);
        Assert.Contains("connection refused", errors);
    }

    [SkippableFact]
    public void TunstackNcTcpListen_KernelSocatConnects_DataBothWays()
    {
        TunRequirements.Require(("socat", "socat"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess listener = TunstackProcess.Start(null, "nc", "-l", "6001", "--netns", ns.Name);
        ns.WaitForAddress("10.77.0.1");
        (int code, _, string errors) = ns.Exec("sh", "-c", "echo 'from the kernel' | socat -t 2 - TCP4:10.77.0.2:6001");
        Assert.True(code == 0, errors);
        listener.WaitForLine("from the kernel");
    }

    [SkippableFact]
    public void TcpCapture_ReadByTshark_NoMalformedAndNoAckedUnseenSegment()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        string tshark = CaptureTests.RequireTool("tshark", "tshark");
        string file = Path.Combine(Path.GetTempPath(), $"tunstack-tcp-{Guid.NewGuid():N}.pcapng");
        try
        {
            using TestNamespace ns = TestNamespace.Create();
            using (TunstackProcess daemon = StartDaemon(ns.Name, "--capture", file))
            {
                Assert.Equal("2000000 same", ns.Python(EchoClient, "10.77.0.2", "7", "2000000").Output.Trim());
                Assert.Equal("300000 same", ns.Python(EchoClient, "fd77::2", "7", "300000").Output.Trim());
                Assert.Equal(0, daemon.Terminate());
            }

            // Checksums are judged on the stack's own segments: the kernel now and then writes the
            // valid non-canonical 0xFFFF (RFC 1624 3), which tshark flags.
            (int code, string output, string errors) = CaptureTests.Run(tshark, "-r", file, "-Y",
                "_ws.malformed || tcp.analysis.ack_lost_segment || (tcp.checksum.status == 0 && (ip.src == 10.77.0.2 || ipv6.src == fd77::2))",
                "-o", "tcp.check_checksum:TRUE");
            Assert.True(code == 0, errors);
            Assert.True(string.IsNullOrWhiteSpace(output), output);
            (code, output, _) = CaptureTests.Run(tshark, "-r", file, "-Y", "tcp", "-T", "fields", "-e", "frame.number");
            Assert.True(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 100);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
