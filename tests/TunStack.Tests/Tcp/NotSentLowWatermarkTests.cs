// TCP_NOTSENT_LOWAT (TcpConnection.NotSentLowWatermark) as Linux's tcp_sendmsg and tcp_poll: a
// write starts a new packet-sized unit (tcp_xmit_size_goal: half the peer's largest window, at
// most 64 KiB, in whole MSS) only while fewer bytes than the mark wait unsent; the facade reads
// writable only while fewer than half the mark do.
namespace TunStack.Tests.Tcp;

public class NotSentLowWatermarkTests
{
    [Fact]
    public void MarkSet_LargeWrite_TakesTheFlightAndOneUnitBeyond()
    {
        RawPeer peer = RawPeer.Established(); // the peer offers 65535 bytes, unscaled
        TunStack.Tcp.TcpConnection c = peer.Connection!;
        int mss = c.Mss;
        int unit = 32767 / mss * mss;
        c.NotSentLowWatermark = 4000;
        int taken = c.Send(new byte[200_000], out StackError error);
        Assert.Equal(StackError.None, error);
        int sent = SentSegment.Data(peer.Decode(peer.Probe.Poll())).Sum(s => s.PayloadLength);
        Assert.Equal(10 * mss, sent); // IW10 left during the write
        Assert.Equal(sent + unit, taken); // the unit the send left partly unsent was filled, no new one begun
        Assert.Equal(unit, c.Unsent);
    }

    [Fact]
    public void NoMark_LargeWrite_FillsTheSendBuffer()
    {
        RawPeer peer = RawPeer.Established();
        TunStack.Tcp.TcpConnection c = peer.Connection!;
        int taken = c.Send(new byte[c.SendBufferSize + 1000], out _);
        Assert.Equal(c.SendBufferSize, taken);
    }

    [Fact]
    public void MarkSet_UnsentFallsBelowTheMark_NextWriteTakesMore()
    {
        RawPeer peer = RawPeer.Established();
        TunStack.Tcp.TcpConnection c = peer.Connection!;
        c.NotSentLowWatermark = 4000;
        int first = c.Send(new byte[200_000], out _);
        peer.Decode(peer.Probe.Poll());
        Assert.Equal(0, c.Send(new byte[1000], out _)); // a whole unit waits unsent

        // ACKs open cwnd until what waits is sent; then a write is taken again.
        for (int i = 0; i < 10 && c.Unsent >= 4000; i++)
        {
            peer.Ack(peer.StackNxt);
        }

        Assert.True(c.Unsent < 4000, $"unsent {c.Unsent}");
        Assert.Equal(1000, c.Send(new byte[1000], out _));
        Assert.True(first > 0);
    }

    [Fact]
    public void StackWideMarkOnly_LargeWrite_TakesTheFlightAndOneUnitBeyond_ConnectionReadsNoMarkOfItsOwn()
    {
        // Linux's net.ipv4.tcp_notsent_lowat (packetdrill's notsent-lowat-sysctl): the stack's
        // mark applies to a connection that set none, and TCP_NOTSENT_LOWAT still reads 0.
        RawPeer peer = RawPeer.Established(configure: o => o.Tcp.NotSentLowWatermark = 4000);
        TunStack.Tcp.TcpConnection c = peer.Connection!;
        int unit = 32767 / c.Mss * c.Mss;
        int taken = c.Send(new byte[200_000], out _);
        int sent = SentSegment.Data(peer.Decode(peer.Probe.Poll())).Sum(s => s.PayloadLength);

        Assert.Equal(sent + unit, taken);
        Assert.Equal(0, c.NotSentLowWatermark);
        Assert.Equal(4000, c.EffectiveNotSentLowWatermark);
    }
}
