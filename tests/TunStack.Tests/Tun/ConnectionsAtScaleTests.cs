using Xunit.Abstractions;

namespace TunStack.Tests.Tun;

/// <summary>
/// Many concurrent kernel connections through the TUN to the daemon (issue "connections at scale"):
/// each idle connection costs the daemon a bounded amount of resident memory, and all still work.
/// </summary>
public class ConnectionsAtScaleTests(ITestOutputHelper output)
{
    // Opens N connections to the daemon's echo one after another and holds them; reads the daemon's
    // resident set before and with all open; echoes through one in 200; closes all. Prints
    // "rss-before rss-open seconds-to-open echo-failures".
    // Two processes (a process may hold at most 20,000 descriptors here) each open half of N
    // connections to the daemon's echo at once and hold them; the parent reads the daemon's
    // resident set before and with all open; each echoes through one in 200 and closes all.
    // Prints "rss-before rss-open seconds-to-open echo-failures".
    private const string Clients = """
import os, socket, sys, resource, time
pid, n = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
def echo(socks):
    failures = 0
    for s in socks[::200]:
        s.sendall(b"still here")
        if s.recv(100) != b"still here":
            failures += 1
    return failures
up_r, up_w = os.pipe()
go_r, go_w = os.pipe()
before = rss()
start = time.monotonic()
child = os.fork()
socks = [socket.create_connection(("10.77.0.2", 7), timeout=10) for _ in range(n // 2)]
if child == 0:
    os.write(up_w, b"u")
    os.read(go_r, 1)
    failures = echo(socks)
    for s in socks:
        s.close()
    os.write(up_w, bytes([min(failures, 255)]))
    os._exit(0)
os.read(up_r, 1)
opened = time.monotonic() - start
time.sleep(0.5)
during = rss()
os.write(go_w, b"g")
failures = echo(socks) + os.read(up_r, 1)[0]
for s in socks:
    s.close()
os.waitpid(child, 0)
print(before, during, round(opened, 1), failures)
""";

    [SkippableFact]
    public void TwentyThousandKernelConnections_HeldIdle_DaemonUnderTenKiBEachAndASampleEchoes()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        const int count = 20_000;
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "echo");
        string[] fields = ns.PythonLines(Clients, daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), count.ToString(System.Globalization.CultureInfo.InvariantCulture)).Last().Split(' ');
        long before = long.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture);
        long during = long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        double perConnection = (during - before) / (double)count;
        output.WriteLine($"daemon RSS {before >> 20} -> {during >> 20} MiB with {count} idle connections: {perConnection:F0} bytes each; opened in {fields[2]} s");
        Assert.Equal("0", fields[3]); // every sampled connection echoed
        Assert.True(perConnection < 10 * 1024, $"{perConnection:F0} bytes of daemon RSS per idle connection ({before >> 20} -> {during >> 20} MiB, opened in {fields[2]} s)");

        // Every connection closes cleanly: the kernel closed first, so the daemon's side ends in
        // LAST-ACK -> CLOSED and no connection is left.
        Assert.Equal(0, daemon.Terminate());
        Assert.Contains($"TcpPassiveOpens={count}", daemon.Output);
    }

    [SkippableFact]
    public void MaxConnectionsOption_KernelOpensMore_TheRestGetNoAnswerAndAreCounted()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "echo", "--max-connections", "5", "--tcp-memory", "64MiB");
        Assert.Contains("TCP memory 64 MiB, at most 5 connections", daemon.Output);
        string[] lines = ns.PythonLines("""
import socket
held, refused = [], 0
for i in range(8):
    try:
        held.append(socket.create_connection(("10.77.0.2", 7), timeout=0.5))
    except OSError:
        refused += 1
print(len(held), refused)
""");
        Assert.Equal("5 3", lines.Last());
        Assert.Equal(0, daemon.Terminate());
        Assert.Contains("TcpConnectionLimit=", daemon.Output);
    }
}
