using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Lab.Replay;
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tests.Cli;

namespace TunStack.Tests.Lab;

/// <summary>
/// tunstack replay: a conversation between two TunStack stacks is captured at the server, and the
/// capture is replayed against a fresh stack playing either host. The fresh stack picks its own
/// initial sequence numbers, so a faithful replay (no reset, every byte delivered both ways) shows
/// that the peer's acknowledgments were moved into its sequence space.
/// </summary>
public sealed class CaptureReplayTests : IDisposable
{
    private const int RequestBytes = 20_000;
    private const int ResponseBytes = 5_000;
    private static readonly InternetAddress Client = InternetAddress.Parse("10.9.0.1");
    private static readonly InternetAddress Server = InternetAddress.Parse("10.9.0.2");
    private readonly string _directory = Directory.CreateTempSubdirectory("tunstack-replay-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [SkippableFact]
    public void ServerSideCapture_ReplayedAsServer_AnswersWithoutResetAndDeliversBothWays()
    {
        RequireLibpcap();
        string capture = RecordConversation();

        CaptureReplayResult result = CaptureReplay.Run(capture, new CaptureReplayOptions { OutputPath = Path.Combine(_directory, "out.pcapng") });

        Assert.Equal(new[] { Server }, result.Addresses);
        Assert.Equal(1, result.FlowsMapped);
        Assert.Equal(0, result.FlowsUnmapped);
        Assert.Equal(RequestBytes, result.BytesReceived);
        Assert.Equal(ResponseBytes, result.BytesSent);
        Assert.DoesNotContain(result.Counters, c => c.Key == Counter.TcpResetsSent);
        Assert.Contains(result.Counters, c => c.Key == Counter.TcpPassiveOpens && c.Value == 1);
        Assert.True(result.PacketsAnswered >= result.PacketsFromHost / 2, $"{result.PacketsAnswered} answers for {result.PacketsFromHost} captured");
        Assert.True(new FileInfo(Path.Combine(_directory, "out.pcapng")).Length > 1000);
    }

    [SkippableFact]
    public void ServerSideCapture_ReplayedAsClient_ConnectsSendsTheRequestAndReadsTheResponse()
    {
        RequireLibpcap();
        string capture = RecordConversation();
        var options = new CaptureReplayOptions();
        options.Addresses.Add(Client);

        CaptureReplayResult result = CaptureReplay.Run(capture, options);

        Assert.Equal(1, result.FlowsMapped);
        Assert.Equal(RequestBytes, result.BytesSent);
        Assert.Equal(ResponseBytes, result.BytesReceived);
        Assert.Contains(result.Counters, c => c.Key == Counter.TcpActiveOpens && c.Value == 1);
        Assert.DoesNotContain(result.Counters, c => c.Key == Counter.TcpResetsSent);
    }

    [SkippableFact]
    public void EthernetPcapCapture_Replayed_SameAsThePcapngOne()
    {
        RequireLibpcap();
        string pcapng = RecordConversation();
        string pcap = Path.Combine(_directory, "ethernet.pcap");
        WriteEthernetPcap(pcapng, pcap);

        CaptureReplayResult fromPcapng = CaptureReplay.Run(pcapng, new CaptureReplayOptions());
        CaptureReplayResult fromPcap = CaptureReplay.Run(pcap, new CaptureReplayOptions());

        Assert.Equal(fromPcapng.PacketsRead, fromPcap.PacketsRead);
        Assert.Equal(fromPcapng.PacketsAnswered, fromPcap.PacketsAnswered);
        Assert.Equal(fromPcapng.Counters, fromPcap.Counters);
        Assert.Equal(RequestBytes, fromPcap.BytesReceived);
    }

    [SkippableFact]
    public void CaptureWithChecksumsLeftToOffload_Replayed_ChecksumsCompletedAndEverythingDelivered()
    {
        RequireLibpcap();
        string pcapng = RecordConversation();
        string pcap = Path.Combine(_directory, "partial.pcap");
        WriteEthernetPcap(pcapng, pcap, clientChecksumsLeftToOffload: true);

        CaptureReplayResult result = CaptureReplay.Run(pcap, new CaptureReplayOptions());

        Assert.Equal(result.PacketsFed, result.ChecksumsCompleted);
        Assert.Equal(RequestBytes, result.BytesReceived);
        Assert.DoesNotContain(result.Counters, c => c.Key == Counter.TcpBadChecksum);
    }

    [SkippableFact]
    public void SameCaptureAndSeed_ReplayedTwice_ByteIdenticalOutput()
    {
        RequireLibpcap();
        string capture = RecordConversation();
        string first = Path.Combine(_directory, "first.pcapng");
        string second = Path.Combine(_directory, "second.pcapng");

        CaptureReplay.Run(capture, new CaptureReplayOptions { OutputPath = first });
        CaptureReplay.Run(capture, new CaptureReplayOptions { OutputPath = second });

        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [SkippableFact]
    public void Cli_Replay_PrintsCountsAndCounters()
    {
        RequireLibpcap();
        string capture = RecordConversation();
        string output = Path.Combine(_directory, "cli.pcapng");

        (int code, string stdout, string stderr) = InProcessCli.Run("replay", capture, "--out", output, "--after", "2");

        Assert.True(code == 0, stderr);
        Assert.Contains("host 10.9.0.2:", stdout);
        Assert.Contains("TCP flows with their handshake 1", stdout);
        Assert.Contains("TcpPassiveOpens", stdout);
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void Cli_MissingCapture_OneLineAndExitCode2()
        => InProcessCli.AssertRefused(new[] { "replay", Path.Combine(_directory, "absent.pcap") }, "absent.pcap: no such file");

    [SkippableFact]
    public void Cli_FileThatIsNotACapture_OneLineAndExitCode2()
    {
        RequireLibpcap();
        string path = Path.Combine(_directory, "text.pcap");
        File.WriteAllText(path, "this is not a capture file at all\n");

        InProcessCli.AssertRefused(new[] { "replay", path }, "not a pcap or pcapng capture");
    }

    [Fact]
    public void Cli_BadAddress_OneLineAndExitCode2()
        => InProcessCli.AssertRefused(new[] { "replay", "x.pcap", "--address", "10.0.0.300" }, "--address takes an IPv4 or IPv6 address, not '10.0.0.300'");

    /// <summary>SharpPcap reads captures through libpcap: skips without it on a developer machine, fails under CI=true.</summary>
    internal static void RequireLibpcap()
    {
        bool present = System.Runtime.InteropServices.NativeLibrary.TryLoad("libpcap.so.0.8", out IntPtr handle);
        if (present)
        {
            System.Runtime.InteropServices.NativeLibrary.Free(handle);
        }
        else if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail("libpcap is required under CI=true: install the Debian package 'libpcap0.8' (./test.sh does).");
        }

        Skip.IfNot(present, "libpcap not installed (apt-get install libpcap0.8); ./test.sh installs it.");
    }

    /// <summary>Client and server stacks on a virtual clock; the server's link is captured. The client sends a request, the server a response, and both close.</summary>
    private string RecordConversation()
    {
        string path = Path.Combine(_directory, $"conversation-{Guid.NewGuid():N}.pcapng");
        var sim = new Simulation();
        (MemoryLink clientWire, MemoryLink serverWire) = MemoryLink.CreatePair();
        var clientOptions = new StackOptions { RandomSeed = 11 };
        clientOptions.Addresses.Add(new IpPrefix(Client, 24));
        var serverOptions = new StackOptions { RandomSeed = 22 };
        serverOptions.Addresses.Add(new IpPrefix(Server, 24));
        using var writer = new PcapngWriter(File.Create(path), unixMicrosecondsAtZero: 1_700_000_000_000_000);
        NetworkStack client = sim.Add(new NetworkStack(clientWire, clientOptions));
        NetworkStack server = sim.Add(new NetworkStack(new CaptureLink(serverWire, writer), serverOptions));
        TcpAcceptor listener = server.ListenTcp(new InternetEndpoint(Server, 80), 8, out _)!;
        TcpConnection? accepted = null;
        long received = 0;
        var buffer = new byte[65536];
        listener.Readable = () =>
        {
            if (listener.TryAccept(out TcpConnection? c))
            {
                accepted = c;
                c!.Readable = () =>
                {
                    int n;
                    while ((n = c.Receive(buffer, out _)) > 0)
                    {
                        received += n;
                    }
                };
            }
        };

        TcpConnection connection = client.ConnectTcp(new InternetEndpoint(Server, 80), out _)!;
        Assert.True(sim.RunUntil(() => connection.State == TcpConnectionState.Established, TimeSpan.FromSeconds(5)));
        sim.RunFor(TimeSpan.FromMilliseconds(20));
        connection.Send(new byte[RequestBytes], out _);
        Assert.True(sim.RunUntil(() => received == RequestBytes, TimeSpan.FromSeconds(10)));
        sim.RunFor(TimeSpan.FromMilliseconds(20));
        accepted!.Send(new byte[ResponseBytes], out _);
        Assert.True(sim.RunUntil(() => connection.Available == ResponseBytes, TimeSpan.FromSeconds(10)));
        connection.Receive(buffer, out _);
        sim.RunFor(TimeSpan.FromMilliseconds(20));
        connection.Close();
        Assert.True(sim.RunUntil(() => accepted.State == TcpConnectionState.CloseWait, TimeSpan.FromSeconds(5)));
        accepted.Close();
        Assert.True(sim.RunUntil(() => accepted.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(5)));
        return path;
    }

    /// <summary>The pcapng's packets as a classic pcap of Ethernet frames (link type 1), as tcpdump on an Ethernet interface writes.</summary>
    private static void WriteEthernetPcap(string pcapng, string pcap, bool clientChecksumsLeftToOffload = false)
    {
        byte[] input = File.ReadAllBytes(pcapng);
        using var output = new BinaryWriter(File.Create(pcap));
        output.Write(0xA1B2C3D4u);
        output.Write((ushort)2);
        output.Write((ushort)4);
        output.Write(0);
        output.Write(0u);
        output.Write(65535u);
        output.Write(1u);
        for (int offset = 0; offset + 12 <= input.Length;)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(offset));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(offset + 4));
            if (type == 6)
            {
                ulong micros = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(offset + 12)) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(offset + 16));
                int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(offset + 20));
                Span<byte> packet = input.AsSpan(offset + 28, captured);
                if (clientChecksumsLeftToOffload && InternetAddress.FromV4(packet[12..16]) == Client)
                {
                    // What Linux leaves in a CHECKSUM_PARTIAL segment (and tcpdump on loopback shows): the pseudo-header sum only.
                    int tcpLength = packet.Length - 20;
                    ushort partial = TunStack.Wire.InternetChecksum.Fold(PseudoHeader.Sum(Client, Server, 6, tcpLength));
                    BinaryPrimitives.WriteUInt16BigEndian(packet[(20 + 16)..], partial);
                }

                output.Write((uint)(micros / 1_000_000));
                output.Write((uint)(micros % 1_000_000));
                output.Write((uint)(captured + 14));
                output.Write((uint)(captured + 14));
                output.Write(new byte[] { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 });
                output.Write((byte)(packet[0] >> 4 == 4 ? 0x08 : 0x86));
                output.Write((byte)(packet[0] >> 4 == 4 ? 0x00 : 0xDD));
                output.Write(packet);
            }

            offset += length;
        }
    }
}
