// MSG_EOR (TcpConnection.Send with endOfRecord): a record boundary no segment crosses, as Linux's
// tcp_skb_can_collapse_to keeps an EOR skb from taking the next write's bytes; a record that is
// not the last thing waiting is not held by Nagle (Linux applies it to the queue's tail only),
// and the segment that ends a record carries PSH (tcp_push marks the tail of each sendmsg).
using TunStack.Links;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class EndOfRecordTests
{
    private const LinkOffloads Tso = LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4;

    [Fact]
    public void SmallRecordsWrittenWhileDataInFlight_EachLeavesAlone_NotCoalescedByNagle()
    {
        RawPeer peer = RawPeer.Established();
        TcpConnectionAccess c = new(peer.Connection!);
        Assert.Equal(400, c.Send(400, endOfRecord: true));
        Assert.Equal(400, Assert.Single(SentSegment.Data(peer.Decode(peer.Probe.Poll()))).PayloadLength); // nothing in flight: it goes

        // With the first in flight, a second record and then plain bytes: without the boundary
        // Nagle would hold both and send them as one 800-byte segment after the ACK.
        Assert.Equal(400, c.Send(400, endOfRecord: true));
        Assert.Equal(400, c.Send(400, endOfRecord: false));
        SentSegment record = Assert.Single(SentSegment.Data(peer.Decode(peer.Probe.Poll())));
        Assert.Equal(400, record.PayloadLength);
        Assert.True(record.Has(TcpFlags.Psh));

        // The plain tail is Nagle's to hold until the flight is acknowledged.
        List<SentSegment> afterAck = SentSegment.Data(peer.Ack(peer.StackNxt));
        Assert.Equal(400, Assert.Single(afterAck).PayloadLength);
    }

    [Fact]
    public void RecordQueuedBehindAFullWindow_SentAfterTheAck_NoSegmentCrossesItsEnd()
    {
        RawPeer peer = RawPeer.Established(offloads: Tso);
        int mss = peer.Connection!.Mss;
        TcpConnectionAccess c = new(peer.Connection);
        Assert.Equal(10 * mss, c.Send(10 * mss, endOfRecord: false)); // IW10: cwnd is full
        peer.Decode(peer.Probe.Poll());
        SeqNumber recordStart = peer.StackNxt;
        int recordLength = (2 * mss) + 500;
        Assert.Equal(recordLength, c.Send(recordLength, endOfRecord: true));
        Assert.Equal(3000, c.Send(3000, endOfRecord: false));

        List<SentSegment> sent = SentSegment.Data(peer.Ack(peer.StackNxt));
        SeqNumber recordEnd = recordStart + recordLength;
        Assert.DoesNotContain(sent, s => s.Seq < recordEnd && s.Seq + s.PayloadLength > recordEnd);
        SentSegment last = Assert.Single(sent, s => s.Seq + s.PayloadLength == recordEnd);
        Assert.True(last.Has(TcpFlags.Psh));
        Assert.Contains(sent, s => s.Seq == recordEnd); // what follows starts a segment of its own
    }

    [Fact]
    public void RecordWrittenInOneSendWithoutEor_CoalescesWithTheNextWrite()
    {
        // The same writes without MSG_EOR: Nagle holds both small writes and sends them as one.
        RawPeer peer = RawPeer.Established();
        TcpConnectionAccess c = new(peer.Connection!);
        c.Send(400, endOfRecord: false);
        peer.Decode(peer.Probe.Poll());
        c.Send(400, endOfRecord: false);
        c.Send(400, endOfRecord: false);
        Assert.Empty(SentSegment.Data(peer.Decode(peer.Probe.Poll())));
        Assert.Equal(800, Assert.Single(SentSegment.Data(peer.Ack(peer.StackNxt))).PayloadLength);
    }

    // Sends zero bytes of the given length through the connection's MSG_EOR overload.
    private readonly struct TcpConnectionAccess(TunStack.Tcp.TcpConnection connection)
    {
        public int Send(int length, bool endOfRecord)
        {
            int n = connection.Send(new byte[length], out StackError error, endOfRecord, more: false);
            Assert.Equal(StackError.None, error);
            return n;
        }
    }
}
