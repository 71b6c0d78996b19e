// TCP with the Linux kernel as the peer over an impaired path: the daemon's --impair (ImpairedLink
// on the stack's ingress and egress) and, independently, nftables dropping at random on the
// kernel's side of the TUN. The kernel's Python client is the judge (SHA-256 both ways).
using System.Diagnostics;

namespace TunStack.Tests.Tun;

public class ImpairedTunTests
{
    // Sends SIZE random bytes to the echo service and reads them back on another thread; prints
    // "SIZE same" when the SHA-256 of what came back matches, and samples `ss -ti` mid-way.
    private const string EchoClient = """
import socket, sys, hashlib, os, threading, subprocess, time
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), timeout=120)
data = os.urandom(size)
def sender():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=sender); t.start()
got = hashlib.sha256(); n = 0; sampled = False; start = time.time()
while True:
    chunk = s.recv(1 << 20)
    if not chunk: break
    got.update(chunk); n += len(chunk)
    if not sampled and n > size // 2:
        sampled = True
        print(subprocess.run(["ss", "-tin", "dst", host], capture_output=True, text=True).stdout.strip(), flush=True)
t.join(); s.close()
print(f"{n} {'same' if got.digest() == hashlib.sha256(data).digest() else 'different'} in {time.time() - start:.1f} s")
""";

    [SkippableFact]
    public void FiftyMegabytesEachWay_TwoPercentLossDelayReorder_KernelPeer_Sha256Matches_V4AndV6()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("nft", "nftables"), ("ss", "iproute2"));
        using TestNamespace ns = TestNamespace.Create();

        // The stack's side: 1% loss each way, 12.5 ms each way (25 ms RTT), 5% reordered; seeded.
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "echo", "--log-level", "debug",
            "--impair", "loss=1%,delay=12.5ms,reorder=5%,seed=1");

        // The kernel's side: nftables drops 1% of what the kernel sends into the TUN, so the
        // kernel-to-stack direction loses about 2% in all.
        foreach (string[] rule in new[]
        {
            new[] { "nft", "add", "table", "inet", "impair" },
            new[] { "nft", "add", "chain", "inet", "impair", "out", "{ type filter hook output priority 0 ; }" },
            new[] { "nft", "add", "rule", "inet", "impair", "out", "oifname", "tunstack0", "numgen", "random", "mod", "100", "<", "1", "counter", "drop" },
        })
        {
            (int code, _, string errors) = ns.Exec(rule);
            Assert.True(code == 0, $"{string.Join(' ', rule)}: {errors}");
        }

        const int size = 50 * 1000 * 1000;
        var watch = Stopwatch.StartNew();
        using NamespaceProcess v4 = ns.Start("/usr/bin/python3", "-c", EchoClient, "10.77.0.2", "7", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using NamespaceProcess v6 = ns.Start("/usr/bin/python3", "-c", EchoClient, "fd77::2", "7", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Task<string> out4 = v4.StandardOutput.ReadToEndAsync();
        Task<string> out6 = v6.StandardOutput.ReadToEndAsync();
        bool done = v4.WaitForExit(480_000) & v6.WaitForExit(480_000); // unfinished, they are stopped on dispose

        (_, string nftCounters, _) = ns.Exec("nft", "list", "chain", "inet", "impair", "out");
        Assert.Equal(0, daemon.Terminate());
        Console.WriteLine($"v4: {out4.Result}\nv6: {out6.Result}\nnft: {nftCounters}\nstack:\n{daemon.Output}");
        Assert.True(done, $"transfers did not finish in 8 minutes ({watch.Elapsed})");
        Assert.Matches($@"(?m)^{size} same in ", out4.Result);
        Assert.Matches($@"(?m)^{size} same in ", out6.Result);
        Assert.Matches(@"packets [1-9]\d* bytes", nftCounters); // the kernel-side drops happened
        Assert.Contains("tcp echo: ", daemon.Output);          // the stack's own per-connection statistics
        Assert.Matches(@"TcpFastRetransmits=\d+", daemon.Output);
    }
}
