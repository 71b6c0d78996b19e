using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>
/// <c>tunstack forward</c> with the kernel on both sides, in namespaces the tests create: H stands in
/// for the host (the daemon runs there, as run-forward.sh runs it), S is a server routed from H over
/// a veth pair, A is the app namespace the daemon creates and gives its network. Clients in A are
/// Python or curl; the servers they reach are in S or on H's loopback.
/// </summary>
public class ForwardThroughTunTests
{
    private const string ServerAddress = "192.168.77.2";

    // Answers each connection after the client half-closes: "got N bytes" (then closes).
    private const string HalfCloseServer = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept(); n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    c.sendall(b"got %d bytes" % n); c.close()
""";

    [SkippableFact]
    public void CurlThroughForwarder_200MBytesFromRoutedServer_ByteExact_AndIperf3BothWays()
    {
        TunRequirements.Require(("curl", "curl"), ("iperf3", "iperf3"), ("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld();
        string dir = Directory.CreateTempSubdirectory("tunstack-forward-").FullName;
        try
        {
            string file = Path.Combine(dir, "blob");
            using (FileStream f = File.Create(file))
            {
                var rng = new Random(13);
                var chunk = new byte[1 << 20];
                for (int i = 0; i < 200; i++)
                {
                    rng.NextBytes(chunk);
                    f.Write(chunk);
                }
            }

            string expected = Sha256(file);
            using NamespaceProcess web = world.Server.Start("/usr/bin/python3", "-m", "http.server", "8080", "--bind", ServerAddress, "--directory", dir);
            using NamespaceProcess iperf = world.Server.Start("iperf3", "-s", "-B", ServerAddress, "-p", "5201");
            world.WaitForPort(ServerAddress, 8080);
            world.WaitForPort(ServerAddress, 5201);

            (int code, string output, string errors) = world.App.Exec("bash", "-c", $"curl -sS --http1.1 -m 60 http://{ServerAddress}:8080/blob | sha256sum");
            Assert.True(code == 0, errors);
            Assert.Equal(expected, output.Split(' ')[0]);

            foreach (string direction in new[] { "-t2", "-R" })
            {
                (code, output, errors) = world.App.Exec("iperf3", "-c", ServerAddress, "-p", "5201", "-t", "2", direction == "-R" ? "-R" : "-t2");
                Assert.True(code == 0, output + errors);
                Assert.Contains("receiver", output);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Assert.Contains("relayed", world.Stop());
    }

    [SkippableFact]
    public void ClientHalfCloses_ServerAnswersAfterEndOfStream_ReplyArrives()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld();
        using NamespaceProcess server = world.Server.Start("/usr/bin/python3", "-c", HalfCloseServer, "7100");
        world.WaitForPort(ServerAddress, 7100);

        string[] lines = world.App.PythonLines("""
import socket, sys
c = socket.create_connection((sys.argv[1], 7100), timeout=10)
c.sendall(b"x" * 100000); c.shutdown(socket.SHUT_WR)
reply = b""
while True:
    d = c.recv(100)
    if not d: break
    reply += d
print(reply.decode())
""", ServerAddress);
        Assert.Equal("got 100000 bytes", lines[^1]);
        world.Stop();
    }

    [SkippableFact]
    public void ResetOnEitherSide_ReachesTheOtherSide()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld();
        // The server resets the first connection (linger 0) after reading a line; on the second it
        // reports how its read ended when the client resets.
        using NamespaceProcess server = world.Server.Start("/usr/bin/python3", "-c", """
import socket, struct
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 7200)); s.listen(8)
print("listening", flush=True)
c, _ = s.accept(); c.recv(100)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
c, _ = s.accept()
try:
    while c.recv(100): pass
    print("server saw end of stream", flush=True)
except ConnectionResetError:
    print("server saw reset", flush=True)
""");
        Assert.Equal("listening", server.StandardOutput.ReadLine()); // no probe connection: the server counts its connections

        string[] lines = world.App.PythonLines("""
import socket, struct, sys, time
c = socket.create_connection((sys.argv[1], 7200), timeout=10)
c.sendall(b"hello\n")
try:
    c.recv(100); print("client saw end of stream")
except ConnectionResetError:
    print("client saw reset")
c = socket.create_connection((sys.argv[1], 7200), timeout=10)
c.sendall(b"hello\n"); time.sleep(0.3)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
""", ServerAddress);
        Assert.Equal("client saw reset", lines[^1]);
        Assert.Equal("server saw reset", server.StandardOutput.ReadLine());
        world.Stop();
    }

    [SkippableFact]
    public void RefusedPortAndUnreachableHost_ClientGetsEconnrefusedAndEhostunreach()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld();
        string[] lines = world.App.PythonLines("""
import socket, sys
for host, port in ((sys.argv[1], 7999), ("192.0.2.1", 80)):
    try:
        socket.create_connection((host, port), timeout=10); print("connected")
    except OSError as e:
        print(type(e).__name__, e.errno)
""", ServerAddress);
        Assert.Equal("ConnectionRefusedError 111", lines[0]);
        Assert.Equal("OSError 113", lines[1]); // EHOSTUNREACH: ICMP host unreachable from the gateway
        string summary = world.Stop();
        Assert.Contains("1 refused by the destination, 1 unreachable", summary);
    }

    [SkippableFact]
    public void UdpThroughForwarder_DnsAddressToUpstreamAndRoutedServer_AnswersFromOriginalDestination()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld("--dns-upstream", "127.0.0.1");
        const string UdpEcho = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
while True:
    d, a = s.recvfrom(2048); s.sendto(b"answer:" + d, a)
""";
        using NamespaceProcess resolver = world.Host.Start("/usr/bin/python3", "-c", UdpEcho, "127.0.0.1", "53");
        using NamespaceProcess echo = world.Server.Start("/usr/bin/python3", "-c", UdpEcho, ServerAddress, "7300");
        Assert.Equal("listening", resolver.StandardOutput.ReadLine());
        Assert.Equal("listening", echo.StandardOutput.ReadLine());

        string[] lines = world.App.PythonLines("""
import socket, sys
for host, port in (("10.0.2.3", 53), (sys.argv[1], 7300)):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
    s.sendto(b"query", (host, port)); d, a = s.recvfrom(2048)
    print(d.decode(), a[0], a[1])
""", ServerAddress);
        Assert.Equal("answer:query 10.0.2.3 53", lines[0]);
        Assert.Equal($"answer:query {ServerAddress} 7300", lines[1]);

        // Nothing on port 7399: the server's port unreachable comes back as ours, and the
        // client's connected socket says "connection refused", as on a routed network.
        string[] refused = world.App.PythonLines("""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); s.connect((sys.argv[1], 7399))
s.send(b"anyone?"); time.sleep(1)
try:
    s.send(b"anyone?"); s.recv(100); print("answered")
except ConnectionRefusedError:
    print("refused")
""", ServerAddress);
        Assert.Equal("refused", refused[^1]);
        Assert.Contains("udp 2 flows open, 3 in all", world.Stop());
    }

    [SkippableFact]
    public void Ipv6_TcpToRoutedServerAndToHostLoopbackThroughGateway_UdpToDnsAddress()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld("--ipv6", "--allow-host-loopback", "--dns-upstream", "::1");
        world.AddServerIpv6();
        const string EchoV6 = """
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind((sys.argv[1], 53 if sys.argv[1] == "::1" else 7599))
print("listening", flush=True)
import threading
def answer():
    while True:
        d, a = u.recvfrom(2048); u.sendto(b"answer:" + d, a)
threading.Thread(target=answer, daemon=True).start()
while True:
    c, a = s.accept(); c.sendall(("hello %s from %s" % (sys.argv[1], a[0])).encode()); c.close()
""";
        using NamespaceProcess routed = world.Server.Start("/usr/bin/python3", "-c", EchoV6, "fd77:1::2", "7500");
        using NamespaceProcess loopback = world.Host.Start("/usr/bin/python3", "-c", EchoV6, "::1", "7600");
        Assert.Equal("listening", routed.StandardOutput.ReadLine());
        Assert.Equal("listening", loopback.StandardOutput.ReadLine());

        string[] lines = world.App.PythonLines("""
import socket
for host, port in (("fd77:1::2", 7500), ("fd00::2", 7600)):
    c = socket.create_connection((host, port), timeout=10); print(c.recv(200).decode())
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.settimeout(5)
u.sendto(b"query", ("fd00::3", 53)); d, a = u.recvfrom(2048); print(d.decode(), a[0], a[1])
""");
        Assert.Equal("hello fd77:1::2 from fd77:1::1", lines[0]); // the routed server sees the host stand-in
        Assert.Equal("hello ::1 from ::1", lines[1]);
        Assert.Equal("answer:query fd00::3 53", lines[2]);
        world.Stop();
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ping_ToRoutedServerRelayed_ToGatewayAnsweredByTheStack(bool unprivilegedPingSockets)
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using var world = new ForwardWorld(unprivilegedPingSockets ? new Dictionary<string, string> { ["TUNSTACK_PING_SOCKETS"] = "1" } : null);
        (int code, string output, string errors) = world.App.Exec("ping", "-c", "3", "-i", "0.2", "-W", "2", ServerAddress);
        Assert.True(code == 0, output + errors);
        Assert.Contains("3 received", output);
        (code, output, errors) = world.App.Exec("ping", "-c", "1", "-W", "2", "10.0.2.2");
        Assert.True(code == 0, output + errors);
        world.Daemon.WaitForLine(unprivilegedPingSockets ? "goes through unprivileged ping sockets" : "goes through raw ICMP sockets");
        Assert.Contains("icmp echo 3 requests relayed, 3 answered", world.Stop());
    }

    [SkippableFact]
    public void Publish_TcpAndUdpIntoNamespace_ClientAddressKept_LoopbackClientAsGateway()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld("--publish", "8080:80", "--publish", "5300:53/udp");
        using NamespaceProcess service = world.App.Start("/usr/bin/python3", "-c", """
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 80)); s.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
def answer():
    while True:
        d, a = u.recvfrom(100); u.sendto(b"udp from " + a[0].encode(), a)
threading.Thread(target=answer, daemon=True).start()
print("listening", flush=True)
while True:
    c, a = s.accept(); c.sendall(b"tcp from " + a[0].encode()); c.close()
""");
        Assert.Equal("listening", service.StandardOutput.ReadLine());
        const string Client = """
import socket, sys
c = socket.create_connection((sys.argv[1], 8080), timeout=10); print(c.recv(100).decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5); u.sendto(b"q", (sys.argv[1], 5300)); print(u.recvfrom(100)[0].decode())
""";
        string[] remote = world.Server.PythonLines(Client, "192.168.77.1");
        Assert.Equal(new[] { "tcp from 192.168.77.2", "udp from 192.168.77.2" }, remote);
        string[] local = world.Host.PythonLines(Client, "127.0.0.1");
        Assert.Equal(new[] { "tcp from 10.0.2.2", "udp from 10.0.2.2" }, local);
        world.Stop();
    }

    [SkippableFact]
    public void Upstream_Socks5ThroughDante_TcpAndUdpRelayed_RefusalIsAReset()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("danted", "dante-server"));
        string dir = Directory.CreateTempSubdirectory("tunstack-socks-").FullName;
        try
        {
            string log = Path.Combine(dir, "danted.log");
            string config = Path.Combine(dir, "danted.conf");
            File.WriteAllText(config, $$"""
logoutput: {{log}}
internal: 127.0.0.1 port = 1080
external: 192.168.77.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
    from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
    from: 0.0.0.0/0 to: 0.0.0.0/0
    command: connect udpassociate udpreply
    log: connect
}
""");
            using var world = new ForwardWorld("--upstream", "socks5://127.0.0.1:1080");
            using NamespaceProcess proxy = world.Host.Start("danted", "-f", config);
            using NamespaceProcess server = world.Server.Start("/usr/bin/python3", "-c", HalfCloseServer, "7700");
            using NamespaceProcess echo = world.Server.Start("socat", $"UDP4-RECVFROM:7701,bind={ServerAddress},fork", "EXEC:cat");
            world.WaitForPort(ServerAddress, 7700);
            world.WaitForPort("127.0.0.1", 1080, inHost: true);

            string[] lines = world.App.PythonLines("""
import socket, sys
c = socket.create_connection((sys.argv[1], 7700), timeout=10); c.sendall(b"x" * 5000); c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode())
try:
    socket.create_connection((sys.argv[1], 7799), timeout=10); print("connected")
except OSError as e:
    print(type(e).__name__)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
u.sendto(b"through the proxy", (sys.argv[1], 7701)); print(u.recvfrom(100)[0].decode())
""", ServerAddress);
            Assert.Equal(new[] { "got 5000 bytes", "ConnectionRefusedError", "through the proxy" }, lines);
            world.Stop();
            string proxied = File.ReadAllText(log);
            Assert.Contains("tcp/connect", proxied); // the proxy carried them, not the daemon's own sockets
            Assert.Contains("192.168.77.2.7700", proxied);
            Assert.Contains("udpassociate", proxied);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public void SilentDestination_AfterConnectTimeout_ClientGetsEhostunreach_IdleRelayResetAfterIdleTimeout_Sigusr1ShowsFlows()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("nft", "nftables"));
        using var world = new ForwardWorld("--connect-timeout", "2", "--tcp-idle-timeout", "3");
        // Port 7900 of the server drops every SYN without a word (nftables in the server's namespace).
        foreach (string rule in new[] { "add table inet silent", "add chain inet silent input { type filter hook input priority 0 ; }", "add rule inet silent input tcp dport 7900 drop" })
        {
            (int code, _, string errors) = world.Server.Exec(new[] { "nft" }.Concat(rule.Split(' ')).ToArray());
            Assert.True(code == 0, errors);
        }

        using NamespaceProcess holder = world.Server.Start("/usr/bin/python3", "-c", """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 7800)); s.listen(8)
print("listening", flush=True)
c, _ = s.accept(); time.sleep(60)
""");
        Assert.Equal("listening", holder.StandardOutput.ReadLine());

        string[] lines = world.App.PythonLines("""
import socket, sys, time
held = socket.create_connection((sys.argv[1], 7800), timeout=10)
print("held", flush=True)
time.sleep(1)
t0 = time.time()
try:
    socket.create_connection((sys.argv[1], 7900), timeout=10); print("connected")
except OSError as e:
    print(type(e).__name__, e.errno, round(time.time() - t0))
held.settimeout(10)
try:
    print("idle relay:", held.recv(10))
except ConnectionResetError:
    print("idle relay: reset")
""", ServerAddress);
        Assert.Equal("held", lines[0]);
        string[] silent = lines[1].Split(' ');
        Assert.Equal("OSError", silent[0]);
        Assert.Equal("113", silent[1]); // EHOSTUNREACH once --connect-timeout passed
        Assert.InRange(int.Parse(silent[2], System.Globalization.CultureInfo.InvariantCulture), 1, 5);
        Assert.Equal("idle relay: reset", lines[2]);
        string summary = world.Stop();
        Assert.Contains("1 unreachable", summary);
    }

    [SkippableFact]
    public void Sigusr1_LogsFlowsOpenAndTheStacksState()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld();
        using NamespaceProcess server = world.Server.Start("/usr/bin/python3", "-c", HalfCloseServer, "7110");
        world.WaitForPort(ServerAddress, 7110);
        using NamespaceProcess client = world.App.Start("/usr/bin/python3", "-c", """
import socket, sys, time
c = socket.create_connection((sys.argv[1], 7110), timeout=10); print("open", flush=True); time.sleep(30)
""", ServerAddress);
        Assert.Equal("open", client.StandardOutput.ReadLine());

        // The relay counts a connection open once the stack's accept completes, a moment after the
        // client's connect returned (on the SYN-ACK): ask again until the count has caught up.
        world.Daemon.Signal("USR1");
        for (int dump = 1; !world.Daemon.WaitForLine("forwarding: tcp", occurrence: dump).Contains("forwarding: tcp 1 open", StringComparison.Ordinal); dump++)
        {
            Assert.True(dump < 20, $"the relay was never counted open:\n{world.Daemon.Output}");
            Thread.Sleep(100);
            world.Daemon.Signal("USR1");
        }

        world.Daemon.WaitForLine($"to 10.0.2.100:");
        world.Stop();
    }

    [SkippableFact]
    public void HostLoopback_OffByDefaultRefused_OnWithFlagReached()
    {
        TunRequirements.Require(("curl", "curl"), ("/usr/bin/python3", "python3"));
        foreach (bool allow in new[] { false, true })
        {
            using var world = allow ? new ForwardWorld("--allow-host-loopback") : new ForwardWorld();
            using NamespaceProcess web = world.Host.Start("/usr/bin/python3", "-m", "http.server", "8080", "--bind", "127.0.0.1", "--directory", "/");
            world.WaitForPort("127.0.0.1", 8080, inHost: true);
            (int code, string output, _) = world.App.Exec("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://10.0.2.2:8080/");
            if (allow)
            {
                Assert.Equal("200", output);
            }
            else
            {
                Assert.Equal(7, code); // curl: could not connect (refused)
            }

            string summary = world.Stop();
            Assert.Contains(allow ? "0 denied" : "1 denied", summary);
        }
    }

    [SkippableFact]
    public void FlowFlood_BeyondMaxFlows_DroppedAndCounted_CurlStillServedAfterwards()
    {
        TunRequirements.Require(("curl", "curl"), ("/usr/bin/python3", "python3"));
        using var world = new ForwardWorld("--max-flows", "20");
        using NamespaceProcess holder = world.Server.Start("/usr/bin/python3", "-c", """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 7400)); s.listen(256)
print("listening", flush=True)
time.sleep(120)
""");
        using NamespaceProcess web = world.Server.Start("/usr/bin/python3", "-m", "http.server", "8080", "--bind", ServerAddress, "--directory", "/");
        Assert.Equal("listening", holder.StandardOutput.ReadLine());
        world.WaitForPort(ServerAddress, 8080);

        // 60 connections held open at once against a limit of 20: the rest are not answered.
        string[] lines = world.App.PythonLines("""
import socket, sys, time
held, failed = [], 0
for i in range(60):
    c = socket.socket(); c.settimeout(0.5)
    try:
        c.connect((sys.argv[1], 7400)); held.append(c)
    except OSError:
        failed += 1; c.close()
print(len(held), failed)
for c in held: c.close()
""", ServerAddress);
        string[] counts = lines[^1].Split(' ');
        Assert.Equal(20, int.Parse(counts[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(40, int.Parse(counts[1], System.Globalization.CultureInfo.InvariantCulture));

        // The client closed its side; the holder never reads, so each relay waits half-closed, as
        // it should. Once the holder goes, the relays end and their slots are free again.
        holder.Dispose();
        Thread.Sleep(1000);
        (int code, string output, _) = world.App.Exec("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", $"http://{ServerAddress}:8080/");
        Assert.True(code == 0 && output == "200", $"curl after the flood: {code} {output}");
        Assert.Contains("over the flow limit", world.Stop());
    }

    private static string Sha256(string file)
    {
        using FileStream f = File.OpenRead(file);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(f));
    }

    /// <summary>H (the host stand-in, where the daemon runs), S (a server behind a veth from H) and A (the app namespace the daemon makes).</summary>
    private sealed class ForwardWorld : IDisposable
    {
        private readonly TunstackProcess _daemon;
        private bool _stopped;

        public ForwardWorld(params string[] extra)
            : this(null, extra)
        {
        }

        public ForwardWorld(IDictionary<string, string>? environment, params string[] extra)
        {
            Host = TestNamespace.Create();
            Server = TestNamespace.Create();
            App = TestNamespace.Reserve();
            try
            {
                string suffix = Host.Name[^6..];
                Run("ip", "-n", Host.Name, "link", "set", "lo", "up");
                Run("ip", "-n", Server.Name, "link", "set", "lo", "up");
                Run("ip", "link", "add", $"fh{suffix}", "netns", Host.Name, "type", "veth", "peer", "name", $"fs{suffix}", "netns", Server.Name);
                Run("ip", "-n", Host.Name, "addr", "add", "192.168.77.1/24", "dev", $"fh{suffix}");
                Run("ip", "-n", Server.Name, "addr", "add", $"{ServerAddress}/24", "dev", $"fs{suffix}");
                Run("ip", "-n", Host.Name, "link", "set", $"fh{suffix}", "up");
                Run("ip", "-n", Server.Name, "link", "set", $"fs{suffix}", "up");
                if (environment is not null)
                {
                    // Unprivileged ping sockets for everyone in the host stand-in (its own sysctl, not the host's).
                    Run("ip", "netns", "exec", Host.Name, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647");
                }

                _daemon = TunstackProcess.StartCommand("ip", environment, new[] { "netns", "exec", Host.Name, "dotnet", TunstackProcess.Dll, "forward", "--netns", App.Name, "--log-level", "debug" }.Concat(extra).ToArray());
                _daemon.WaitForLine("ready:");
            }
            catch
            {
                _daemon?.Dispose();
                App.Dispose();
                Server.Dispose();
                Host.Dispose();
                throw;
            }
        }

        public TestNamespace Host { get; }

        public TestNamespace Server { get; }

        public TestNamespace App { get; }

        public TunstackProcess Daemon => _daemon;

        /// <summary>IPv6 on the veth between H and S (fd77:1::1 and fd77:1::2, no duplicate address detection to wait for).</summary>
        public void AddServerIpv6()
        {
            string suffix = Host.Name[^6..];
            Run("ip", "-n", Host.Name, "addr", "add", "fd77:1::1/64", "dev", $"fh{suffix}", "nodad");
            Run("ip", "-n", Server.Name, "addr", "add", "fd77:1::2/64", "dev", $"fs{suffix}", "nodad");
        }

        /// <summary>Waits (up to 10 s) until a TCP port answers, from S (or H).</summary>
        public void WaitForPort(string address, int port, bool inHost = false)
        {
            TestNamespace where = inHost ? Host : Server;
            for (int i = 0; i < 100; i++)
            {
                if (where.Exec("bash", "-c", $"exec 3<>/dev/tcp/{address}/{port}").Code == 0)
                {
                    return;
                }

                Thread.Sleep(100);
            }

            Assert.Fail($"nothing listens on {address}:{port}");
        }

        /// <summary>Stops the daemon (SIGTERM, exit 0, the namespace it made removed) and returns its "forwarded:" line.</summary>
        public string Stop()
        {
            _stopped = true;
            App.StopAndExpectRemovedBy(_daemon);
            return _daemon.Output.Split('\n').LastOrDefault(l => l.Contains("forwarded:", StringComparison.Ordinal)) ?? string.Empty;
        }

        public void Dispose()
        {
            if (!_stopped)
            {
                _daemon.Terminate();
            }

            _daemon.Dispose();
            App.Dispose();
            Server.Dispose();
            Host.Dispose();
        }

        private static void Run(params string[] command)
        {
            (int code, string output, string errors) = CaptureTests.Run(command[0], command[1..]);
            Assert.True(code == 0, $"{string.Join(' ', command)}: {output}{errors}");
        }
    }
}
