// Path MTU discovery (RFC 1191 / RFC 8201): a router on the path starts refusing big packets in
// the middle of a transfer and says so with ICMP; the sender lowers its MSS and the transfer completes.
using System.Security.Cryptography;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tests.Integration;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tcp;

public class PathMtuTests
{
    /// <summary>
    /// Wraps the sender's link: once <see cref="Limit"/> is set, a packet larger than it is dropped
    /// and answered with ICMP fragmentation needed (IPv4) or packet too big (IPv6) from a router.
    /// </summary>
    private sealed class NarrowingPath(ILink inner) : PassThroughLink(inner)
    {
        private static readonly InternetAddress RouterV4 = InternetAddress.Parse("192.168.50.254");
        private static readonly InternetAddress RouterV6 = InternetAddress.Parse("fd50::fe");
        private readonly Queue<byte[]> _icmp = new();
        private readonly PacketBatch _pass = new(256, inner.Mtu);

        public int Limit { get; set; } = int.MaxValue;

        public long BytesPassed { get; private set; }

        public int Refused { get; private set; }

        public override Instant NextDeadline => _icmp.Count > 0 ? Instant.Zero : Inner.NextDeadline;

        public override int Receive(PacketBatch batch, Instant now)
        {
            int n = 0;
            while (_icmp.Count > 0 && batch.TryAdd(_icmp.Peek()))
            {
                _icmp.Dequeue();
                n++;
            }

            return n + Inner.Receive(batch, now);
        }

        public override void Transmit(PacketBatch batch, Instant now)
        {
            _pass.Clear();
            for (int i = 0; i < batch.Count; i++)
            {
                ReadOnlySpan<byte> packet = batch[i];
                if (packet.Length > Limit)
                {
                    Refused++;
                    _icmp.Enqueue(TooBig(packet.ToArray(), Limit));
                    continue;
                }

                BytesPassed += packet.Length;
                _pass.TryAdd(packet);
            }

            Inner.Transmit(_pass, now);
        }

        private static byte[] TooBig(byte[] packet, int mtu)
        {
            bool v6 = packet[0] >> 4 == 6;
            if (v6)
            {
                InternetAddress source = InternetAddress.FromV6(packet.AsSpan(8, 16));
                byte[] quote = packet.AsSpan(0, Math.Min(packet.Length, 1232)).ToArray();
                byte[] icmp = Packets.Icmp(RouterV6, source, 2, 0, (uint)mtu, quote); // RFC 4443 3.2 packet too big
                return Packets.Ipv6(RouterV6, source, 58, icmp);
            }
            else
            {
                InternetAddress source = InternetAddress.FromV4(packet.AsSpan(12, 4));
                byte[] quote = packet.AsSpan(0, 28 + 20).ToArray();
                byte[] icmp = Packets.Icmp(RouterV4, source, 3, 4, (uint)mtu, quote); // RFC 1191 4: next-hop MTU in the low 16 bits
                return Packets.Ipv4(RouterV4, source, 1, icmp);
            }
        }
    }

    [Theory]
    [InlineData(false, 1000)]
    [InlineData(true, 1280)]
    public void Established_PathMtuDropsMidTransfer_IcmpTooBig_MssLowered_TransferCompletes(bool v6, int narrowTo)
    {
        NarrowingPath? path = null;
        var net = new TwoStacks(wrapA: link => path = new NarrowingPath(link), configure: o => o.Tcp.CongestionControl = TunStack.Tcp.CongestionAlgorithm.Cubic);
        (_, TunStack.Tcp.TcpConnection client, TunStack.Tcp.TcpConnection server) = TcpTests.Connected(net, v6);
        Assert.Equal(1448 - (v6 ? 20 : 0), client.Mss);
        var data = new byte[4 * 1024 * 1024];
        new Random(9).NextBytes(data);

        // Narrow the path once a megabyte has gone through.
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(5), onProgress: sent =>
        {
            if (sent > 1_000_000 && path!.Limit == int.MaxValue)
            {
                path.Limit = narrowTo;
            }
        });

        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        Assert.True(path!.Refused > 0);
        Assert.Equal(1, net.A.Counters[Counter.TcpPathMtuReductions]);
        Assert.Equal(narrowTo - (v6 ? 40 : 20) - 20 - 12, client.Mss); // IP and TCP headers, 12 bytes of timestamps
    }
}
