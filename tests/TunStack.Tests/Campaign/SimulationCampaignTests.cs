// The simulation campaign in the test suite: a fixed budget of seeded multi-stack scenarios
// (perf/Campaign), each run to the end on the virtual clock with its invariants checked.
using TunStack.Ip;
using TunStack.Lab.Replay;
using TunStack.Links;
using TunStack.Perf.Campaign;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tests.Campaign;

public class SimulationCampaignTests
{
    // About two minutes on the shared two-core machine; the long runs are reported in docs/robustness.md.
    private const int Seeds = 2000;

    [Fact]
    public void Campaign_FixedSeedBudget_EveryScenarioByteExactAndCleanAtTheEnd()
    {
        var failures = new List<string>();
        for (int seed = 1; seed <= Seeds; seed++)
        {
            var scenario = new CampaignScenario(seed);
            string? failure = scenario.Run();
            if (failure is not null)
            {
                failures.Add($"seed {seed}: {failure}\n{scenario.Description}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {Seeds} scenarios failed (replay one with: dotnet run -c Release --project perf -- simulate --seeds N):\n{string.Join("\n", failures.Take(5))}");
    }

    [Fact]
    public void Scenario_SameSeedTwice_SameRunToTheMicrosecond()
    {
        var first = new CampaignScenario(42);
        var second = new CampaignScenario(42);
        Assert.Equal(first.Description, second.Description);
        Assert.Null(first.Run());
        Assert.Null(second.Run());
        Assert.Equal(first.Elapsed, second.Elapsed);
        Assert.NotEqual(new CampaignScenario(43).Description, first.Description);
    }

    [Fact]
    public void Scenario_PathMtuNarrowedWhileFlowsRun_TooBigAnsweredMssLoweredStreamsExact()
    {
        // Seed 17: two stacks' paths narrow to 1297 and 1337 bytes from the start, under flows that cross them.
        var scenario = new CampaignScenario(17);
        Assert.True(scenario.ChangesPathMtu);
        Assert.Null(scenario.Run());
        Assert.True(scenario.TooBigAnswered > 0, "no packet was too big for the narrowed path");
        Assert.True(scenario.PathMtuReductions > 0, "no connection lowered its MSS");
    }

    [Fact]
    public void Scenario_ShutdownBeforeAnyDataOnCleanPaths_LoneFinSentAtOnceAndFlowEnds()
    {
        // Seed 183466: two stacks on clean paths, one half-close flow of 0 bytes. The client's
        // shutdown right after the handshake moves no byte, and the FIN it queues is the only
        // thing left to happen: the run must send it then rather than find nothing due.
        var scenario = new CampaignScenario(183466);
        Assert.Contains("HalfClose 0 B", scenario.Description);
        Assert.Null(scenario.Run());
    }

    [Fact]
    public void PathLinks_EveryPacketCorruptedEitherWay_ArrivesWithOneBitFlipped()
    {
        // A packet crosses its sender's path and its receiver's. Seed 172759 had one bit flipped on
        // each, two that cancelled in the TCP checksum: a scenario's paths flip one bit at most.
        var network = new MemorySwitch();
        InternetAddress a = InternetAddress.Parse("10.1.0.1"), b = InternetAddress.Parse("10.1.0.2");
        var everything = new Impairment { CorruptPercent = 100 };
        ImpairedLink sender = CampaignScenario.PathLink(network.AddPort(new[] { a }), everything, seed: 1);
        ImpairedLink receiver = CampaignScenario.PathLink(network.AddPort(new[] { b }), everything, seed: 2);
        byte[] sent = Packets.Ipv4(a, b, IpProtocol.Udp, new byte[64]);
        var batch = new PacketBatch(4, 1500);
        batch.TryAdd(sent);
        sender.Transmit(batch, Instant.Zero);

        var received = new PacketBatch(4, 1500);
        Assert.Equal(1, receiver.Receive(received, Instant.Zero));
        ReadOnlySpan<byte> arrived = received[0];
        Assert.Equal(sent.Length, arrived.Length);
        int flipped = 0;
        for (int i = 0; i < sent.Length; i++)
        {
            flipped += System.Numerics.BitOperations.PopCount((uint)(sent[i] ^ arrived[i]));
        }

        Assert.Equal(1, flipped);
    }

    [Fact]
    public void Scenario_CorruptionOnBothPathsOfAZeroWindowFlow_StreamsByteExact()
    {
        // Seed 172759: a zero-window flow between two stacks whose paths both corrupt (0.13% and 0.3%).
        var scenario = new CampaignScenario(172759);
        Assert.Contains("corrupt=0.3%", scenario.Description);
        Assert.Null(scenario.Run());
    }

    [Fact]
    public void Scenario_CaptureDirectoryGiven_EachStackWritesWhatItSentAndReceived()
    {
        string directory = Directory.CreateTempSubdirectory("tunstack-campaign-capture-").FullName;
        try
        {
            var scenario = new CampaignScenario(183466, directory);
            Assert.Null(scenario.Run());
            Assert.True(File.Exists(Path.Combine(directory, "seed-183466-stack-1.pcapng")));

            // The client's capture: its SYN first, and the lone FIN of its shutdown.
            var sent = new List<TcpFlags>();
            using (CaptureFileReader reader = CaptureFileReader.Open(Path.Combine(directory, "seed-183466-stack-0.pcapng")))
            {
                while (reader.TryRead(out CapturedPacket packet))
                {
                    if (CapturedHeaders.TryRead(packet.Packet, out CapturedHeaders headers) && headers.IsTcp && headers.Source == InternetAddress.Parse("10.99.0.1"))
                    {
                        sent.Add((TcpFlags)packet.Packet[headers.TransportOffset + 13]);
                    }
                }
            }

            Assert.Equal(TcpFlags.Syn, sent[0] & ~TcpFlags.Ece & ~TcpFlags.Cwr);
            Assert.Contains(sent, f => (f & TcpFlags.Fin) != 0);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void StreamPattern_ShiftedOrForeignBytes_Mismatch()
    {
        var data = new byte[4096];
        StreamPattern.Fill(data, stream: 5, offset: 1000);
        Assert.Equal(-1, StreamPattern.FirstMismatch(data, 5, 1000));
        Assert.True(StreamPattern.FirstMismatch(data, 5, 1001) is >= 0 and < 16); // one byte late: caught at once
        Assert.True(StreamPattern.FirstMismatch(data, 6, 1000) is >= 0 and < 16); // another stream's bytes
        data[3000] ^= 1;
        Assert.Equal(3000, StreamPattern.FirstMismatch(data, 5, 1000));
    }

    [Fact]
    public void StreamPattern_FillAndCheckAtEveryAlignment_SameBytesAsOneAtATime()
    {
        // Fill and FirstMismatch work a word (eight bytes) at a time; At is the definition.
        for (long offset = 1000; offset < 1016; offset++)
        {
            foreach (int length in new[] { 0, 1, 7, 8, 9, 23, 100 })
            {
                var data = new byte[length];
                StreamPattern.Fill(data, stream: 9, offset);
                for (int i = 0; i < length; i++)
                {
                    Assert.Equal(StreamPattern.At(9, offset + i), data[i]);
                }

                Assert.Equal(-1, StreamPattern.FirstMismatch(data, 9, offset));
                if (length > 0)
                {
                    data[length - 1] ^= 0x80;
                    Assert.Equal(length - 1, StreamPattern.FirstMismatch(data, 9, offset));
                }
            }
        }
    }

    [Fact]
    public void MemorySwitch_PacketToOwnedAddress_DeliveredThere_UnknownCounted()
    {
        var network = new MemorySwitch();
        MemorySwitchPort a = network.AddPort(new[] { InternetAddress.Parse("10.1.0.1") });
        MemorySwitchPort b = network.AddPort(new[] { InternetAddress.Parse("10.1.0.2"), InternetAddress.Parse("fd01::2") });
        var batch = new PacketBatch(4, 1500);
        batch.TryAdd(Packets.Ipv4(InternetAddress.Parse("10.1.0.1"), InternetAddress.Parse("10.1.0.2"), IpProtocol.Udp, new byte[8]));
        batch.TryAdd(Packets.Ipv4(InternetAddress.Parse("10.1.0.1"), InternetAddress.Parse("10.1.0.9"), IpProtocol.Udp, new byte[8]));
        a.Transmit(batch, Instant.Zero);
        var received = new PacketBatch(4, 1500);
        Assert.Equal(1, b.Receive(received, Instant.Zero));
        Assert.Equal(0, a.Receive(new PacketBatch(4, 1500), Instant.Zero));
        Assert.Equal(1, network.Unroutable);
    }
}
