using TunStack.Ip;
using TunStack.Lab;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Perf.Campaign;

/// <summary>
/// A stack's path through the campaign's switch with a narrower stretch in it: the stack's link
/// keeps its MTU, but a packet larger than <see cref="PathMtu"/> goes no further, either way, and
/// is answered as a router answers it (RFC 1191 4: ICMPv4 Fragmentation Needed with the next-hop
/// MTU; RFC 8201 4 / RFC 4443 3.2: ICMPv6 Packet Too Big), or fragmented if it is IPv4 without DF
/// (RFC 791). The answer to the stack's own packets comes back through its link; the answer to a
/// packet arriving for it goes back through the switch to the sender. Every too-big packet is
/// answered, never rate limited (Linux exempts path MTU errors too), so the path is no black hole.
/// The ICMP errors and fragments are the protocol lab's (<see cref="LabIcmpError"/>, <see cref="LabFragmenter"/>).
/// </summary>
internal sealed class PathMtuLink : ILink
{
    private readonly ILink _inner;
    private readonly InternetAddress _routerV4;
    private readonly InternetAddress _routerV6;
    private readonly Queue<LabPacket> _toStack = new();   // answers to the stack's packets, and fragments of packets for it
    private readonly PacketBatch _one;                   // one received packet at a time while the path is narrow
    private readonly PacketBatch _outgoing;
    private ushort _identification;

    /// <summary>Wraps <paramref name="inner"/> (the stack's port on the switch); ICMP errors come from <paramref name="routerV4"/> or <paramref name="routerV6"/>.</summary>
    public PathMtuLink(ILink inner, InternetAddress routerV4, InternetAddress routerV6)
    {
        _inner = inner;
        _routerV4 = routerV4;
        _routerV6 = routerV6;
        PathMtu = inner.Mtu;
        _one = new PacketBatch(1, inner.MaxPacketLength);
        _outgoing = new PacketBatch(64, inner.MaxPacketLength);
    }

    /// <summary>The largest packet the path carries, either way; the link's MTU (no narrowing) at first.</summary>
    public int PathMtu { get; set; }

    /// <summary>Too-big packets answered with an ICMP error (either way).</summary>
    public long TooBigAnswered { get; private set; }

    /// <summary>IPv4 packets without DF that went on in fragments.</summary>
    public long Fragmented { get; private set; }

    /// <inheritdoc/>
    public int Mtu => _inner.Mtu;

    /// <inheritdoc/>
    public int MaxPacketLength => _inner.MaxPacketLength;

    /// <inheritdoc/>
    public LinkOffloads Offloads => _inner.Offloads;

    /// <inheritdoc/>
    public Action? ReceiveReady
    {
        get => _inner.ReceiveReady;
        set => _inner.ReceiveReady = value;
    }

    /// <inheritdoc/>
    public Instant NextDeadline => _toStack.Count > 0 ? Instant.Zero : _inner.NextDeadline;

    private bool Narrow => PathMtu < _inner.Mtu;

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now)
    {
        int received = 0;
        while (true)
        {
            while (_toStack.Count > 0 && batch.TryAdd(_toStack.Peek().Data))
            {
                _toStack.Dequeue();
                received++;
            }

            if (batch.IsFull)
            {
                return received;
            }

            if (!Narrow)
            {
                return received + _inner.Receive(batch, now);
            }

            // One at a time, so that a packet dropped here never leaves one behind for want of room.
            _one.Clear();
            if (_inner.Receive(_one, now) == 0)
            {
                return received;
            }

            if (_one[0].Length <= PathMtu)
            {
                batch.TryAdd(_one[0], _one.OffloadAt(0));
                received++;
                continue;
            }

            _outgoing.Clear();
            TooBig(_one[0], _outgoing, arriving: true);
            _inner.Transmit(_outgoing, now);
        }
    }

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now)
    {
        if (!Narrow || AllFit(batch))
        {
            _inner.Transmit(batch, now);
            return;
        }

        _outgoing.Clear();
        for (int i = 0; i < batch.Count; i++)
        {
            if (_outgoing.Count > _outgoing.Capacity - 8)
            {
                _inner.Transmit(_outgoing, now);
                _outgoing.Clear();
            }

            if (batch[i].Length <= PathMtu)
            {
                _outgoing.TryAdd(batch[i], batch.OffloadAt(i));
            }
            else
            {
                TooBig(batch[i], _outgoing, arriving: false);
            }
        }

        _inner.Transmit(_outgoing, now);
    }

    /// <inheritdoc/>
    public void Dispose() => _inner.Dispose();

    private bool AllFit(PacketBatch batch)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            if (batch[i].Length > PathMtu)
            {
                return false;
            }
        }

        return true;
    }

    // What a router does with a packet too big for the next link (LabRouter.Accept's rules): IPv4
    // without DF goes on in fragments; IPv6, or IPv4 with DF, draws an ICMP error to its source.
    // For a packet arriving for the stack, the fragments go to the stack and the error onward
    // (through the switch to the sender); for the stack's own packet, the other way round.
    private void TooBig(ReadOnlySpan<byte> p, PacketBatch onward, bool arriving)
    {
        bool v6 = p[0] >> 4 == 6;
        bool v4 = p[0] >> 4 == 4 && (p[0] & 0xF) * 4 >= Ipv4Packet.MinHeaderLength;
        if (!v4 && !v6)
        {
            return; // not IP (a corrupted version or header length): no router would forward it
        }

        if (v4 && (p[6] & 0x40) == 0)
        {
            Fragmented++;
            foreach (LabPacket fragment in LabFragmenter.Fragment(new LabPacket(p), PathMtu))
            {
                if (arriving)
                {
                    _toStack.Enqueue(fragment);
                }
                else
                {
                    onward.TryAdd(fragment.Data);
                }
            }

            return;
        }

        if (!LabIcmpError.MayAnswer(p))
        {
            return;
        }

        // RFC 1191 4: the next-hop MTU in the low 16 bits; RFC 8201 4 / RFC 4443 3.2: the MTU field.
        LabPacket error = v6
            ? LabIcmpError.V6(_routerV6, p, Icmpv6Type.PacketTooBig, 0, (uint)PathMtu)
            : LabIcmpError.V4(_routerV4, _identification++, p, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodeFragmentationNeeded, (uint)PathMtu);
        TooBigAnswered++;
        if (arriving)
        {
            onward.TryAdd(error.Data); // back through the switch to the stack that sent it
        }
        else
        {
            _toStack.Enqueue(error);
        }
    }
}
