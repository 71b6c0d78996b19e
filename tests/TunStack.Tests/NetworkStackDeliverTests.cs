// NetworkStack.Deliver: packets a host's reader thread read from the link itself, handed to the
// stack under its lock; the link admits them first (a decorator impairs them as it would have on
// Receive), and what they cause is sent before Deliver returns.
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Tests.Tcp;
using TunStack.Wire;

namespace TunStack.Tests;

public class NetworkStackDeliverTests
{
    [Fact]
    public void Listening_SynDeliveredByAReader_SynAckSentBeforeDeliverReturnsWithTheRetransmissionDeadline()
    {
        RawPeer peer = RawPeer.Listening();
        var batch = new PacketBatch(4, 1500);
        Assert.True(batch.TryAdd(Syn(peer)));

        Instant next = peer.Probe.Stack.Deliver(batch, peer.Probe.Clock.Now);

        SentSegment synAck = Assert.Single(peer.Decode(peer.Probe.Drain()));
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(peer.Probe.Stack.NextDeadline, next);
        Assert.True(next > peer.Probe.Clock.Now, "the SYN-ACK's retransmission timer is the next deadline");
        Assert.Equal(1, peer.Probe[Counter.LinkReceived]);
    }

    [Fact]
    public void ImpairedLinkDelayingReceived_SynDeliveredByAReader_HeldUntilItsDelayAndAnsweredByThePollThen()
    {
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair(1500);
        var link = new ImpairedLink(near, new Impairment { Delay = TimeSpan.FromMilliseconds(10) }, Impairment.None, seed: 1);
        var options = new StackOptions { RandomSeed = 1 };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        var clock = new VirtualClock(Instant.FromMilliseconds(1000));
        var stack = new NetworkStack(link, options, clock.Now);
        Assert.NotNull(stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, RawPeer.StackPort), 8, out _));
        var batch = new PacketBatch(4, 1500);
        Assert.True(batch.TryAdd(Syn(RawPeer.Listening())));

        Instant next = stack.Deliver(batch, clock.Now);

        var sent = new PacketBatch(4, 1500);
        Assert.Equal(0, far.Receive(sent, clock.Now)); // held back by the received direction's delay
        Assert.Equal(clock.Now + TimeSpan.FromMilliseconds(10), next);
        clock.Advance(TimeSpan.FromMilliseconds(10));
        stack.Poll(clock.Now);
        Assert.Equal(1, far.Receive(sent, clock.Now));
        Assert.True(Ipv4Packet.TryCreate(sent[0], out Ipv4Packet ip));
        Assert.True(TcpSegment.TryCreate(ip.Payload, out TcpSegment synAck));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
    }

    private static byte[] Syn(RawPeer peer)
    {
        TcpOptions mss = TcpOptions.None;
        mss.Mss = 1460;
        return peer.Build(TcpFlags.Syn, new SeqNumber(5000), default, options: mss);
    }
}
