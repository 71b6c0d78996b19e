// 50 MB between two stacks over a seeded ImpairedLink (reproducible), SHA-256 compared, and the
// counters that say how the losses were repaired.
using System.Security.Cryptography;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tcp;

public class ImpairedTransferTests
{
    private const int Size = 50 * 1024 * 1024;

    public static IEnumerable<object[]> Paths() => new[]
    {
        new object[] { "loss=1%,delay=5ms" },
        new object[] { "loss=5%,delay=5ms" },
        new object[] { "loss=10%,delay=5ms" },
        new object[] { "reorder=5%,delay=5ms,jitter=1ms" },
        new object[] { "overtake=2%,loss=0.2%,delay=10ms" },
        new object[] { "dup=2%,delay=5ms" },
        new object[] { "corrupt=0.1%,delay=5ms" },
        new object[] { "delay=50ms" },
    };

    private static byte[] Data()
    {
        var data = new byte[Size];
        new Random(50).NextBytes(data);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void FiftyMegabytes_OverImpairedPath_ShaMatches_RepairCountersMove(string impairment)
    {
        Assert.True(Impairment.TryParse(impairment, out Impairment profile, out _, out string? error), error);
        ImpairedLink? link = null;
        var net = new TwoStacks(wrapA: l => link = new ImpairedLink(l, profile, profile, 7));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        byte[] data = Data();
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(30));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));

        TcpConnectionInfo info = client.GetInfo();
        Console.WriteLine($"{impairment}: {info}");
        long repaired = net.A.Counters[Counter.TcpFastRetransmits] + net.A.Counters[Counter.TcpRetransmits];
        if (profile.OvertakePercent > 0)
        {
            // Segments that overtake others make RACK retransmit some needlessly: the receiver says
            // so with D-SACKs (RFC 2883), and the sender learns the reordering and undoes reductions.
            Assert.True(net.B.Counters[Counter.TcpDsackSent] > 0);
            Assert.True(net.A.Counters[Counter.TcpSpuriousRetransmissionUndos] > 0);
            Assert.True(((TunStack.Tcp.Recovery.SackRecovery)client.Recovery).Rack.ReorderingSeen);
        }

        if (profile.LossPercent > 0)
        {
            // Losses in both directions; the data ones are repaired, mostly without waiting for an RTO.
            Assert.True(link!.EgressStatistics.Lost > 0);
            Assert.True(net.A.Counters[Counter.TcpFastRecoveries] > 0);
            Assert.True(repaired >= link.EgressStatistics.Lost / 2, $"{repaired} repairs for {link.EgressStatistics.Lost} drops");
            Assert.True(net.A.Counters[Counter.TcpFastRetransmits] > net.A.Counters[Counter.TcpRetransmits]);
        }
        else if (profile.CorruptPercent > 0)
        {
            Assert.True(net.B.Counters[Counter.TcpBadChecksum] + net.B.Counters[Counter.Ipv4BadChecksum] + net.A.Counters[Counter.TcpBadChecksum] > 0);
            Assert.True(repaired > 0);
        }
        else if (profile.DuplicatePercent > 0)
        {
            Assert.True(net.A.Counters[Counter.TcpDsackReceived] + net.B.Counters[Counter.TcpDsackReceived] > 0 || net.B.Counters[Counter.TcpOutOfWindow] > 0);
        }
        else if (profile.ReorderPercent > 0)
        {
            Assert.True(net.B.Counters[Counter.TcpOutOfOrderQueued] > 0);
        }
        else
        {
            Assert.Equal(0, repaired); // a clean long path: nothing to repair
            Assert.True(server.ReceiveBufferSize > 1024 * 1024);
        }
    }

    /// <summary>Drops <see cref="Count"/> packets in a row once <see cref="After"/> bytes have passed (a loss burst).</summary>
    private sealed class BurstLossLink(ILink inner, long after, int count) : PassThroughLink(inner)
    {
        private readonly PacketBatch _pass = new(256, inner.Mtu);
        private long _passed;
        private int _dropped;

        public int Dropped => _dropped;

        public override void Transmit(PacketBatch batch, Instant now)
        {
            _pass.Clear();
            for (int i = 0; i < batch.Count; i++)
            {
                if (_passed >= after && _dropped < count)
                {
                    _dropped++;
                    continue;
                }

                _passed += batch[i].Length;
                _pass.TryAdd(batch[i]);
            }

            Inner.Transmit(_pass, now);
        }
    }

    [Fact]
    public void FiftyMegabytes_LossBurstOf200Packets_Recovered_ShaMatches()
    {
        BurstLossLink? burst = null;
        var delay = new Impairment { Delay = TimeSpan.FromMilliseconds(5) };
        var net = new TwoStacks(wrapA: l => burst = new BurstLossLink(new ImpairedLink(l, delay, delay, 3), 10_000_000, 200));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        byte[] data = Data();
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(30));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        Assert.Equal(200, burst!.Dropped);
        Console.WriteLine($"burst: {client.GetInfo()}");
        // RACK sees the hole by time once later segments are SACKed: repaired in fast recovery, no RTO.
        Assert.True(net.A.Counters[Counter.TcpFastRetransmits] >= 200, $"{net.A.Counters[Counter.TcpFastRetransmits]} fast retransmits");
        Assert.True(net.A.Counters[Counter.TcpFastRecoveries] >= 1);
    }
}
