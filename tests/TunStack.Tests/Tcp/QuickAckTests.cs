// When the receiver acknowledges at once: quick-ACK mode for a connection's first data and after
// an idle receive side (as Linux's tcp_event_data_recv), and window updates after a read only when
// they tell the sender something it needs (as Linux's tcp_cleanup_rbuf). Both found by Linux's
// packetdrill scripts (shutdown-wr-close, blocking-read) through the shim.
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class QuickAckTests
{
    /// <summary>Sends full segments, each acknowledged at once, until the connection's quick ACKs are used up.</summary>
    internal static void UseUpQuickAcks(RawPeer peer)
    {
        for (int i = 0; i < 16; i++)
        {
            List<SentSegment> replies = peer.Send(TcpFlags.Ack, new byte[1460]);
            peer.Connection!.Receive(new byte[1460], out _);
            if (replies.Count == 0)
            {
                peer.Probe.Advance(TimeSpan.FromMilliseconds(200)); // the delayed ACK of the one held
                return;
            }
        }
    }

    [Fact]
    public void Established_FirstDataSegmentsOfTheConnection_EachAcknowledgedAtOnce()
    {
        RawPeer peer = RawPeer.Established();
        for (int i = 0; i < 4; i++)
        {
            SentSegment ack = Assert.Single(peer.Send(TcpFlags.Ack, new byte[1000]));
            Assert.Equal(peer.Nxt, ack.Ack);
        }
    }

    [Fact]
    public void Established_QuickAcksUsedUp_SingleSegmentWaitsForTheDelayedAck()
    {
        RawPeer peer = RawPeer.Established();
        UseUpQuickAcks(peer);
        Assert.Empty(peer.Send(TcpFlags.Ack, new byte[1000]));
        SentSegment delayed = Assert.Single(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(200))));
        Assert.Equal(peer.Nxt, delayed.Ack);
    }

    [Fact]
    public void Established_QuickAcksUsedUp_SmallRequestWithPsh_AckDelayedAndTheLaterResponseCarriesIt()
    {
        // Linux's __tcp_ack_snd_check: PSH does not make an ACK due; a request answered within the
        // delayed-ACK time costs no pure ACK, its response carries the acknowledgment.
        RawPeer peer = RawPeer.Established();
        UseUpQuickAcks(peer);
        Assert.Empty(peer.Send(TcpFlags.Ack | TcpFlags.Psh, "GET / HTTP/1.1\r\n\r\n"u8));
        Assert.Empty(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(5))));

        Assert.Equal(5, peer.Connection!.Send("hello"u8, out _));
        SentSegment response = Assert.Single(peer.Decode(peer.Probe.Poll()));
        Assert.Equal(peer.Nxt, response.Ack);
        Assert.Empty(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(60)))); // no pure ACK follows: nothing was left owed
    }

    [Fact]
    public void Established_QuickAcksUsedUp_SmallSegmentsEvery30Ms_DelayedAckDueFromTheFirstNotPushedBack()
    {
        RawPeer peer = RawPeer.Established();
        UseUpQuickAcks(peer);
        Assert.Empty(peer.Send(TcpFlags.Ack, new byte[100]));
        Assert.Empty(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(30))));
        Assert.Empty(peer.Send(TcpFlags.Ack, new byte[100]));

        // 40 ms after the first segment, not after the second.
        SentSegment ack = Assert.Single(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(15))));
        Assert.Equal(peer.Nxt, ack.Ack);
    }

    [Fact]
    public void Established_DataAfterReceiveIdleLongerThanRto_AcknowledgedAtOnceAgain()
    {
        RawPeer peer = RawPeer.Established();
        UseUpQuickAcks(peer);
        peer.Probe.Advance(TimeSpan.FromSeconds(5)); // longer than any RTO here (1 s initial)
        SentSegment ack = Assert.Single(peer.Send(TcpFlags.Ack, new byte[1000]));
        Assert.Equal(peer.Nxt, ack.Ack);
    }

    [Fact]
    public void Established_ReadOfLittleFromAWideOpenWindow_NoWindowUpdate()
    {
        // Linux's tcp_cleanup_rbuf: the window the peer still has is far more than half the buffer,
        // so the read's few freed bytes are not worth a segment of their own.
        RawPeer peer = RawPeer.Established();
        Assert.Single(peer.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[1000])); // a quick ACK
        Assert.Equal(1000, peer.Connection!.Receive(new byte[4000], out _));
        Assert.Empty(peer.Decode(peer.Probe.Poll()));
    }

    [Fact]
    public void Established_ReadAfterTheWindowClosed_WindowUpdateAtOnce()
    {
        RawPeer peer = RawPeer.Established(configure: o => { o.Tcp.ReceiveBufferSize = 8 * 1460; o.Tcp.AutoTuneBuffers = false; });
        TcpConnection connection = peer.Connection!;
        uint window = connection.Receiver.Window;
        for (int sent = 0; sent + 1460 <= window; sent += 1460)
        {
            peer.Send(TcpFlags.Ack, new byte[1460]);
        }

        peer.Probe.Advance(TimeSpan.FromMilliseconds(200));
        Assert.True(connection.Receiver.Window < 1460, $"window {connection.Receiver.Window}");
        connection.Receive(new byte[64 * 1024], out _);
        SentSegment update = Assert.Single(peer.Decode(peer.Probe.Poll()));
        Assert.True(update.Window >= 1460, $"window {update.Window}");
    }
}
