using System.Globalization;
using System.Text.RegularExpressions;
using TunStack.Sockets.Hosting;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>
/// <c>tunstack up --queues N</c>: one stack partition and loop per TUN queue, with the kernel as the
/// peer in a namespace each test makes. The kernel forgets a flow's queue after about three idle
/// seconds and then places it by a hash of its own, so a connection idle for longer may come back
/// on a queue whose partition does not own it: the hand-off must bring it home.
/// </summary>
public class QueuePartitionTests
{
    // HOST PORT COUNT IDLE: COUNT connections and COUNT UDP sockets to the echo service, each
    // echoed once; "open COUNT same|different udp ANSWERED"; then IDLE seconds of silence and one
    // more echo on every connection: "same" or "different" for each.
    private const string IdleEcho = """
import socket, sys, os, time
host, port, count, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
conns = [socket.create_connection((host, port), timeout=10) for _ in range(count)]
def round_trip(s):
    data = os.urandom(1000)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(len(data) - len(got))
        if not chunk: break
        got += chunk
    return got == data
first = all([round_trip(s) for s in conns])
answered = 0
for _ in range(count):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    data = os.urandom(500)
    u.sendto(data, (host, port))
    try:
        answered += u.recvfrom(2048)[0] == data
    except socket.timeout:
        pass
print(f"open {count} {'same' if first else 'different'} udp {answered}", flush=True)
time.sleep(idle)
print(" ".join("same" if round_trip(s) else "different" for s in conns), flush=True)
""";

    // PORT COUNT: COUNT TCP connections to PORT one after the other; prints how many were accepted.
    private const string Connects = """
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
accepted = 0
for _ in range(count):
    try:
        s = socket.create_connection(("10.77.0.2", port), timeout=3)
        s.sendall(b"x")
        s.close()
        accepted += 1
    except OSError:
        pass
print(accepted)
""";

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void UpWithQueues_ConcurrentIdleUdpAndPing_AllAnsweredAndCountedAcrossPartitions(int queues)
    {
        TunRequirements.Require(("ping", "iputils-ping"), ("/usr/bin/python3", "python3"));
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name, "--queues", queues.ToString(CultureInfo.InvariantCulture), "--serve", "echo");
        string[] threads = Directory.GetDirectories($"/proc/{daemon.Id}/task").Select(t => File.ReadAllText(Path.Combine(t, "comm")).Trim()).ToArray();
        Assert.Equal(queues, threads.Count(t => t.StartsWith("tunstack-stack", StringComparison.Ordinal)));
        Assert.DoesNotContain(threads, t => t.StartsWith("tun-poll-", StringComparison.Ordinal));
        Assert.Equal(queues == 1 ? 1 : 0, threads.Count(t => t == StackRunner.ReaderThreadName)); // one queue: read by a thread blocked in read() (Linux 6.x)

        // Sixteen connections held open, echoed, then left idle past the kernel's flow expiry.
        using NamespaceProcess idle = reserved.Start("/usr/bin/python3", "-c", IdleEcho, "10.77.0.2", "7", "16", "4.5");
        Assert.Equal("open 16 same udp 16", idle.StandardOutput.ReadLine());

        // ss sees the connections of every partition, and the shared listener once.
        (int code, string output, string errors) = TunstackProcess.Run(null, "ss", "-t", "-a", "-n", "--name", reserved.Name);
        Assert.True(code == 0, errors);
        string[] rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(16, rows.Count(r => Regex.IsMatch(r, @"^ESTAB +0 +0 +10\.77\.0\.2:7 ")));
        Assert.Single(rows, r => r.StartsWith("LISTEN", StringComparison.Ordinal));

        // While they idle: 200 clients at once, each echoed exactly; and ping.
        string[] echoed = reserved.PythonLines(OffloadThroughTunTests.ConcurrentEcho, "10.77.0.2", "7", "20000", "200");
        Assert.Equal(200, echoed.Length);
        Assert.All(echoed, l => Assert.Equal("same", l));
        (code, output, _) = reserved.Exec("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2");
        Assert.True(code == 0, output);

        Assert.Equal(string.Join(' ', Enumerable.Repeat("same", 16)), idle.StandardOutput.ReadLine());

        (code, output, errors) = TunstackProcess.Run(null, "stats", "--name", reserved.Name);
        Assert.True(code == 0, errors);
        Assert.Matches(@"\nTcpPassiveOpens +216 +216\n", output);
        Assert.Equal(0, daemon.Terminate());
        Assert.Matches(@"IcmpEchoRepliesSent=3\b", daemon.Output);
        Assert.Matches(@"\btcp echo 216 connections\b", daemon.Output);
        Assert.Matches(@"\budp echo 16 datagrams\b", daemon.Output);
        if (queues > 1)
        {
            // Some first SYNs landed on a queue whose partition does not own them (the kernel's hash is not ours).
            Assert.Matches(@"PartitionHandedOff=\d+", daemon.Output);
            Assert.DoesNotMatch(@"PartitionHandOffDropped=", daemon.Output);
        }
        else
        {
            Assert.DoesNotMatch(@"PartitionHandedOff=", daemon.Output);
        }
    }

    [SkippableFact]
    public void UpWithQueuesAndCapture_OneLoopReadsEveryQueue_SaysWhyAndAnswersPing()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace ns = TestNamespace.Create();
        string capture = Path.Combine(Path.GetTempPath(), $"queues-{Guid.NewGuid():N}.pcapng");
        try
        {
            using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--queues", "2", "--capture", capture);
            Assert.Contains("queues: 2, read by one stack loop: --capture writes one file from one loop", daemon.Output);
            (int code, string output, _) = ns.Exec("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.77.0.2");
            Assert.True(code == 0, output);
            string[] threads = Directory.GetDirectories($"/proc/{daemon.Id}/task").Select(t => File.ReadAllText(Path.Combine(t, "comm")).Trim()).ToArray();
            Assert.Equal(["tunstack-stack"], threads.Where(t => t.StartsWith("tunstack-stack", StringComparison.Ordinal)));
            Assert.Equal(2, threads.Count(t => t.StartsWith("tun-poll-", StringComparison.Ordinal)));
            Assert.Equal(0, daemon.Terminate());
        }
        finally
        {
            File.Delete(capture);
        }
    }

    [SkippableFact]
    public void PartitionedUp_SighupChangesServices_EveryPartitionServesTheNewOnesAndHttpWaitsForARestart()
    {
        TunRequirements.Require(("/usr/bin/python3", "python3"));
        using TestNamespace reserved = TestNamespace.Reserve();
        string config = Path.Combine(Path.GetTempPath(), $"tunstack-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, """{ "serve": "echo", "queues": 4 }""");
        try
        {
            using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name, "--config", config);
            Assert.Equal("16", Assert.Single(reserved.PythonLines(Connects, "7", "16")));

            File.WriteAllText(config, """{ "serve": "discard=9009,http", "queues": 4 }""");
            daemon.Signal("HUP");
            Assert.Contains("tcp discard:9009; udp discard:9009", daemon.WaitForLine("SIGHUP: reloaded"));
            Assert.Contains("SIGHUP: the http service runs on one stack loop, and this one runs 4 partitions (--queues); it takes a restart, the rest reloads", daemon.Output);

            // Sixteen connections spread over four partitions by the hash: every one of them took the change.
            Assert.Equal("16", Assert.Single(reserved.PythonLines(Connects, "9009", "16")));
            Assert.Equal("0", Assert.Single(reserved.PythonLines(Connects, "7", "16")));
            reserved.StopAndExpectRemovedBy(daemon);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
