// The virtio-net offloads against the kernel's TCP through a real TUN, in namespaces the tests
// create: a gibibyte each way with SHA-256 over IPv4 and IPv6, with offloads on and off; no
// checksum error on either side; a kernel-side capture that tshark reads without a malformed
// packet; two queues with offloads serving 200 clients at once.
using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

public class OffloadThroughTunTests
{
    // Sends COUNT MiB (one random MiB repeated) to the echo service while reading the echo back;
    // prints "BYTES same" when the SHA-256 of what came back matches what went out.
    private const string EchoGibibyte = """
import socket, sys, hashlib, os, threading
host, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = os.urandom(1 << 20)
sent = hashlib.sha256()
for _ in range(mib): sent.update(block)
s = socket.create_connection((host, port), timeout=120)
def sender():
    for _ in range(mib): s.sendall(block)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=sender); t.start()
got = hashlib.sha256(); n = 0
while True:
    chunk = s.recv(1 << 20)
    if not chunk: break
    got.update(chunk); n += len(chunk)
t.join(); s.close()
print(f"{n} {'same' if got.digest() == sent.digest() else 'different'}")
""";

    // HOST PORT SIZE COUNT: COUNT clients at once, each sending SIZE random bytes to the echo service; prints "same" per client whose echo matched.
    internal const string ConcurrentEcho = """
import socket, sys, os, threading
host, port, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
results = [None] * count
def one(i):
    s = socket.create_connection((host, port), timeout=60)
    data = os.urandom(size)
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        c = s.recv(65536)
        if not c: break
        got += c
    s.close()
    results[i] = 'same' if got == data else 'different'
threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(results))
""";

    [SkippableTheory]
    [InlineData("on")]
    [InlineData("off")]
    public void KernelEchoGibibyteEachWay_Offload_ShaMatchesNoChecksumErrorEitherSide_V4AndV6(string offload)
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"), ("nstat", "iproute2"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--offload", offload, "--serve", "echo");
        Assert.Contains(offload == "on" ? "offloads checksum, TSO4, TSO6" : "offloads off", daemon.Output, StringComparison.Ordinal);
        ns.Exec("nstat", "-n"); // start the kernel's counters from here
        foreach (string host in new[] { "10.77.0.2", "fd77::2" })
        {
            Assert.Equal($"{1L << 30} same", Assert.Single(ns.PythonLines(EchoGibibyte, host, "7", "1024")));
        }

        (_, string kernel, _) = ns.Exec("nstat", "-az", "TcpInCsumErrors", "UdpInCsumErrors", "TcpExtTCPCsumErrors");
        Assert.DoesNotMatch(@"CsumErrors\s+[1-9]", kernel);
        Assert.Equal(0, daemon.Terminate());
        string counters = daemon.Output.Split('\n').Single(l => l.Contains(" counters: ", StringComparison.Ordinal));
        Assert.DoesNotContain("BadChecksum", counters, StringComparison.Ordinal);
        Assert.DoesNotContain("LinkBadOffload", counters, StringComparison.Ordinal);
        if (offload == "on")
        {
            Assert.Matches(@"LinkSuperSegmentsReceived=[1-9]", counters);
            Assert.Matches(@"LinkSuperSegmentsSent=[1-9]", counters);
        }
        else
        {
            Assert.DoesNotContain("LinkSuperSegments", counters, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void KernelSideCapture_OffloadsOn_TsharkFindsNoMalformedPacket()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        string tshark = CaptureTests.RequireTool("tshark", "tshark");
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "echo");
        string file = Path.Combine(Path.GetTempPath(), $"tunstack-kernel-side-{Guid.NewGuid():N}.pcap");
        try
        {
            // The kernel side of the TUN, captured through SharpPcap (libpcap) in the namespace.
            using (KernelSidePcap capture = KernelSidePcap.Start(ns.Name, "tunstack0", snaplen: 256, limit: 20000))
            {
                foreach (string host in new[] { "10.77.0.2", "fd77::2" })
                {
                    Assert.Equal($"{32L << 20} same", Assert.Single(ns.PythonLines(EchoGibibyte, host, "7", "32")));
                }

                Thread.Sleep(300);
                capture.StopAndWrite(file);
            }

            (int code, string output, string errors) = CaptureTests.Run(tshark, "-r", file, "-Y", "_ws.malformed || _ws.expert.severity == error");
            Assert.True(code == 0, errors);
            Assert.True(string.IsNullOrWhiteSpace(output), output);
            (_, output, _) = CaptureTests.Run(tshark, "-r", file, "-Y", "tcp.len > 1500", "-T", "fields", "-e", "frame.number");
            Assert.True(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 10, "the kernel side saw no super-segments");
        }
        finally
        {
            File.Delete(file);
        }

        Assert.Equal(0, daemon.Terminate());
    }

    [SkippableFact]
    public void KernelSideInjection_SynBuiltWithPacketDotNet_StackAnswersSynAckCapturedOnTheTun()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "echo");
        using KernelSidePcap pcap = KernelSidePcap.Start(ns.Name, "tunstack0", "tcp port 7");
        var syn = new PacketDotNet.IPv4Packet(System.Net.IPAddress.Parse("10.77.0.1"), System.Net.IPAddress.Parse("10.77.0.2"))
        {
            PayloadPacket = new PacketDotNet.TcpPacket(40123, 7) { Synchronize = true, SequenceNumber = 5000, WindowSize = 64240 },
        };

        pcap.Send(TunStack.Examples.PacketDotNetPackets.ToIpBytes(syn));

        PacketDotNet.TcpPacket? Tcp(byte[] bytes) => PacketDotNet.Packet.ParsePacket(pcap.LinkType, bytes).Extract<PacketDotNet.TcpPacket>();
        byte[]? answer = pcap.WaitFor(p => Tcp(p) is { SourcePort: 7, DestinationPort: 40123, Synchronize: true, Acknowledgment: true }, TimeSpan.FromSeconds(5));
        Assert.True(answer is not null, $"no SYN-ACK among {pcap.Packets.Count} packets captured");
        Assert.Equal(5001u, Tcp(answer)!.AcknowledgmentNumber);
        Assert.Equal(0, daemon.Terminate());
    }

    [SkippableFact]
    public void TwoQueuesWithOffloads_200ConcurrentKernelClients_EachEchoedExactly()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--queues", "2", "--offload", "on", "--serve", "echo");
        string[] lines = ns.PythonLines(ConcurrentEcho, "10.77.0.2", "7", "100000", "200");
        Assert.Equal(200, lines.Length);
        Assert.All(lines, l => Assert.Equal("same", l));
        Assert.Equal(0, daemon.Terminate());
    }
}
