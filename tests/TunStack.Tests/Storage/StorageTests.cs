using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tests.Storage;

public class StorageTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PacketQueue_BuffersUpFrontOrOnDemand_FifoAcrossWrapAndFullAtCapacity(bool allocateUpFront)
    {
        var queue = new PacketQueue(capacity: 4, packetCapacity: 64, allocateUpFront);
        var batch = new PacketBatch(2, 64);
        byte next = 0, expected = 0;
        for (int round = 0; round < 20; round++)
        {
            // Three in, two out: the ring wraps, and buffers taken on demand are handed back and reused.
            for (int i = 0; i < 3 && queue.Count < queue.Capacity; i++, next++)
            {
                Assert.True(queue.TryEnqueue(new byte[] { next, next, (byte)(next + 1) }));
            }

            batch.Clear();
            Assert.Equal(2, queue.DequeueInto(batch));
            for (int i = 0; i < 2; i++, expected++)
            {
                Assert.Equal(new byte[] { expected, expected, (byte)(expected + 1) }, batch[i].ToArray());
            }
        }

        while (queue.Count < queue.Capacity)
        {
            Assert.True(queue.TryEnqueue(new byte[] { next, next++ }));
        }

        Assert.False(queue.TryEnqueue(new byte[] { 1 }));
        Assert.False(queue.TryEnqueue(new byte[65]));
    }

    [Fact]
    public void RingBuffer_DataParkedPastTheEnd_SurvivesTheRingEmptying()
    {
        // Regression: Skip reset the head when the ring emptied, moving out-of-order data parked with TryWriteAt.
        var ring = new RingBuffer(16);
        Assert.True(ring.TryWrite("abcd"u8));
        Assert.True(ring.TryWriteAt(2, "XY"u8)); // bytes 6..7 of the stream, ahead of a gap
        var four = new byte[4];
        Assert.Equal(4, ring.Read(four));           // the ring is now empty
        Assert.True(ring.TryWriteAt(0, "ef"u8));    // the gap fills
        ring.Commit(4);
        Assert.Equal(4, ring.Read(four));
        Assert.Equal("efXY"u8.ToArray(), four);
    }

    [Fact]
    public void RingBuffer_WrapAround_WriteAtAndCommit_ReadBackInOrder()
    {
        var ring = new RingBuffer(10);
        var scratch = new byte[10];
        for (int round = 0; round < 50; round++)
        {
            Assert.True(ring.TryWriteAt(3, "345"u8));
            Assert.True(ring.TryWriteAt(0, "012"u8));
            ring.Commit(6);
            Assert.Equal(6, ring.Read(scratch));
            Assert.Equal("012345"u8.ToArray(), scratch[..6]);
        }

        Assert.False(ring.TryWriteAt(8, "abc"u8)); // past the free space
    }

    [Fact]
    public void Assembler_MergesAndTakesContiguous_AcrossSequenceWrap()
    {
        var a = new Assembler(4);
        var s = new SeqNumber(uint.MaxValue - 100);
        Assert.True(a.TryAdd(s + 200, s + 300));
        Assert.True(a.TryAdd(s + 100, s + 150));
        Assert.True(a.TryAdd(s + 150, s + 200)); // joins both neighbours
        Assert.Equal(1, a.Count);
        Assert.Equal(0, a.TakeContiguous(s + 50));
        Assert.Equal(200, a.TakeContiguous(s + 100));
        Assert.Equal(0, a.Count);
    }

    [Fact]
    public void Assembler_Bounded_RefusesAnExtraRange_SackMostRecentFirst()
    {
        var a = new Assembler(2);
        var s = new SeqNumber(1000);
        Assert.True(a.TryAdd(s + 100, s + 200));
        Assert.True(a.TryAdd(s + 300, s + 400));
        Assert.False(a.TryAdd(s + 500, s + 600));
        Assert.True(a.TryAdd(s + 150, s + 250)); // widens an existing range: allowed
        TcpOptions options = TcpOptions.None;
        a.WriteSackBlocks(ref options, 3);
        Assert.Equal(2, options.SackCount);
        Assert.Equal(new SackBlock(s + 100, s + 250), options.GetSack(0)); // RFC 2018 4: most recent first
    }
}
