using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Tests;

/// <summary>
/// A stack under test whose link's far end is the test: it injects raw packets and collects what
/// the stack sends, on a virtual clock.
/// </summary>
internal sealed class Probe
{
    public static readonly InternetAddress StackV4 = InternetAddress.Parse("10.0.0.2");
    public static readonly InternetAddress PeerV4 = InternetAddress.Parse("10.0.0.1");
    public static readonly InternetAddress StackV6 = InternetAddress.Parse("fd00::2");
    public static readonly InternetAddress PeerV6 = InternetAddress.Parse("fd00::1");

    private readonly MemoryLink _far;
    private readonly PacketBatch _out = new(256, PacketOffload.MaxSuperSegmentLength);
    private readonly PacketBatch _wire = new(512, 65535);

    public Probe(Action<StackOptions>? configure = null, int mtu = 1500, LinkOffloads offloads = LinkOffloads.None)
    {
        (MemoryLink near, MemoryLink far) = offloads == LinkOffloads.None ? MemoryLink.CreatePair(mtu) : MemoryLink.CreatePairWithOffloads(offloads, mtu);
        _far = far;
        var options = new StackOptions { RandomSeed = 1 };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        options.Addresses.Add(IpPrefix.Parse("fd00::2/64"));
        configure?.Invoke(options);
        Clock = new VirtualClock(Instant.FromMilliseconds(1000));
        Stack = new NetworkStack(near, options, Clock.Now);
    }

    public NetworkStack Stack { get; }

    public VirtualClock Clock { get; }

    public long this[Counter c] => Stack.Counters[c];

    /// <summary>Injects packets that arrive together (one receive batch) and polls once.</summary>
    public List<byte[]> SendTogether(IEnumerable<byte[]> packets)
    {
        var batch = new PacketBatch(256, 65535);
        foreach (byte[] packet in packets)
        {
            Assert.True(batch.TryAdd(packet));
        }

        _far.Transmit(batch, Clock.Now);
        return Poll();
    }

    /// <summary>Super-segments (TSO) the stack handed its link since the probe was made.</summary>
    public int SuperSegmentsSent => (int)Stack.Counters[Counter.LinkSuperSegmentsSent];

    /// <summary>Injects one packet and polls; returns what the stack sent in response.</summary>
    public List<byte[]> Send(ReadOnlySpan<byte> packet) => Send(packet, default);

    /// <summary>Injects one packet with offload metadata (as a TUN's virtio-net header gives it) and polls.</summary>
    public List<byte[]> Send(ReadOnlySpan<byte> packet, in PacketOffload offload)
    {
        var batch = new PacketBatch(1, Math.Max(packet.Length, 1));
        batch.TryAdd(packet, offload);
        _far.Transmit(batch, Clock.Now);
        return Poll();
    }

    public List<byte[]> Poll()
    {
        Stack.Poll(Clock.Now);
        return Drain();
    }

    public List<byte[]> Advance(TimeSpan by)
    {
        Clock.Advance(by);
        return Poll();
    }

    public List<byte[]> Drain()
    {
        var result = new List<byte[]>();
        while (true)
        {
            _out.Clear();
            if (_far.Receive(_out, Clock.Now) == 0)
            {
                return result;
            }

            for (int i = 0; i < _out.Count; i++)
            {
                if (!_out.OffloadAt(i).IsSet)
                {
                    result.Add(_out[i].ToArray());
                    continue;
                }

                // What the stack left to the link (a partial checksum, a super-segment), the
                // probe's end does, as a NIC would: the test sees wire packets.
                _wire.Clear();
                Assert.True(SoftwareSegmentation.Segment(_out[i], _out.OffloadAt(i), _wire) > 0);
                for (int j = 0; j < _wire.Count; j++)
                {
                    result.Add(_wire[j].ToArray());
                }
            }
        }
    }
}
