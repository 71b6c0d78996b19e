// ECN (RFC 3168) against the Linux kernel through a real TUN, in a namespace the test creates: the
// kernel at net.ipv4.tcp_ecn=1 (set inside that namespace only) asks for ECN, TunStack agrees (its
// default, as Linux's tcp_ecn=2), and nftables rules in the namespace mark ECN-capable packets
// Congestion Experienced in both directions, as a congested router would.
using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

public class EcnThroughTunTests
{
    // Echoes MIB mebibytes through the stack while reading them back, then prints the byte count and
    // what `ss -tie` says of the connection before closing it (iproute2 6.1 prints the ts, sack and
// ecn words with -e, not with -n).
    private const string EchoThenSs = """
import socket, sys, os, subprocess, threading
host, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), timeout=60)
block = os.urandom(1 << 20)
def sender():
    for _ in range(mib): s.sendall(block)
t = threading.Thread(target=sender); t.start()
n = 0
while n < mib << 20:
    chunk = s.recv(1 << 20)
    if not chunk: break
    n += len(chunk)
t.join()
ss = subprocess.run(["ss", "-tie"], capture_output=True, text=True).stdout
s.close()
print(n)
print(" ".join(ss.split()))
""";

    // Every ECN-capable packet toward the stack leaves the kernel marked CE (its data: TunStack must
    // echo, Linux must react), and every ECN-capable packet from the stack arrives marked CE (our
    // data: Linux echoes, TunStack must react). nftables mangles the ECN bits and fixes the checksum.
    private const string MarkEverything = """
table inet ecnmark {
    chain toward_stack {
        type filter hook output priority 0; policy accept;
        ip daddr 10.77.0.2 ip ecn ect0 ip ecn set ce
        ip6 daddr fd77::2 ip6 ecn ect0 ip6 ecn set ce
    }
    chain from_stack {
        type filter hook prerouting priority 0; policy accept;
        ip saddr 10.77.0.2 ip ecn ect0 ip ecn set ce
        ip6 saddr fd77::2 ip6 ecn ect0 ip6 ecn set ce
    }
}
""";

    [SkippableTheory]
    [InlineData("10.77.0.2")]
    [InlineData("fd77::2")]
    public void KernelAtTcpEcn1_EchoThroughTunWithCeMarksBothWays_EcnNegotiatedAndEachSideReducesForTheOthersEcho(string host)
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("nft", "nftables"), ("nstat", "iproute2"), ("ss", "iproute2"));
        using TestNamespace ns = TestNamespace.Create();
        // Both per namespace: the host's stay as they were. Reno rather than the host's default,
        // which may be BBR (it does not reduce for ECE), so that Linux's reduction shows as
        // ssthresh; a namespace other than the host's may choose only among the allowed algorithms,
        // and reno always is one.
        (int code, _, string errors) = ns.Exec("sysctl", "-qw", "net.ipv4.tcp_ecn=1", "net.ipv4.tcp_congestion_control=reno");
        Assert.True(code == 0, errors);
        string rules = Path.Combine(Path.GetTempPath(), $"tunstack-ecn-{Guid.NewGuid():N}.nft");
        File.WriteAllText(rules, MarkEverything);
        try
        {
            (code, _, errors) = ns.Exec("nft", "-f", rules);
            Assert.True(code == 0, $"nft -f: {errors}");
        }
        finally
        {
            File.Delete(rules);
        }

        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "echo");
        ns.Exec("nstat", "-n");
        string[] lines = ns.PythonLines(EchoThenSs, host, "7", "16");
        Assert.Equal($"{16 << 20}", lines[0]);

        // Linux's view: ECN agreed (ecn), its data delivered with ECE from TunStack (delivered_ce),
        // and the window it reduced for that (ssthresh appears once cwnd was cut).
        Assert.Contains(" ecn ", lines[1], StringComparison.Ordinal);
        Assert.Matches(@" delivered_ce:[1-9]", lines[1]);
        Assert.Matches(@" ssthresh:\d+", lines[1]);
        (_, string kernel, _) = ns.Exec("nstat", "-az", "TcpExtTCPDeliveredCE");
        Assert.Matches(@"TcpExtTCPDeliveredCE\s+[1-9]", kernel);

        Assert.Equal(0, daemon.Terminate());
        string counters = daemon.Output.Split('\n').Single(l => l.Contains(" counters: ", StringComparison.Ordinal));
        Assert.Matches(@"TcpEcnNegotiated=1\b", counters);
        Assert.Matches(@"TcpCongestionExperiencedReceived=[1-9]", counters); // CE on Linux's data reached TCP
        Assert.Matches(@"TcpCwrReceived=[1-9]", counters);                   // and Linux reduced for our ECE
        Assert.Matches(@"TcpEcnEchoReductions=[1-9]", counters);             // Linux echoed CE on our data: we reduced
        Assert.Matches(@"TcpCwrSent=[1-9]", counters);
    }

    [SkippableFact]
    public void KernelAtTcpEcn1_DaemonWithTcpEcn0_SynAckDoesNotAgree_NoEcnEitherSide()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("ss", "iproute2"));
        using TestNamespace ns = TestNamespace.Create();
        (int code, _, string errors) = ns.Exec("sysctl", "-qw", "net.ipv4.tcp_ecn=1");
        Assert.True(code == 0, errors);
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "echo", "--tcp-ecn", "0");
        string[] lines = ns.PythonLines(EchoThenSs, "10.77.0.2", "7", "1");
        Assert.Equal($"{1 << 20}", lines[0]);
        Assert.Contains(" ts sack ", lines[1], StringComparison.Ordinal); // the words ss prints for options agreed
        Assert.DoesNotContain(" ecn ", lines[1], StringComparison.Ordinal);
        Assert.Equal(0, daemon.Terminate());
        Assert.DoesNotContain("TcpEcnNegotiated", daemon.Output, StringComparison.Ordinal);
    }
}
