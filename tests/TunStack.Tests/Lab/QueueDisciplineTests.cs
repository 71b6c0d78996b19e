using TunStack.Lab;
using TunStack.Wire;

namespace TunStack.Tests.Lab;

public class QueueDisciplineTests
{
    // A minimal IPv4 header of the given total length and ECN codepoint (checksum left at zero: queues do not check it).
    private static LabPacket Packet(int length, EcnCodepoint ecn = EcnCodepoint.NotEct)
    {
        var data = new byte[length];
        data[0] = 0x45;
        data[1] = (byte)ecn;
        data[8] = 64;
        data[9] = 17;
        return new LabPacket(data);
    }

    [Fact]
    public void DropTailOfThreePackets_FourthArrives_DroppedWhateverItsSize()
    {
        var queue = new DropTailQueue(limitPackets: 3, limitBytes: 0);
        Assert.True(queue.Enqueue(Packet(1500), 0));
        Assert.True(queue.Enqueue(Packet(1500), 0));
        Assert.True(queue.Enqueue(Packet(1500), 0));
        Assert.False(queue.Enqueue(Packet(40), 0));
        Assert.Equal((3, 4500L, 1L), (queue.Count, queue.Bytes, queue.Dropped));
    }

    [Fact]
    public void DropTailOfThreeThousandBytes_Arrivals_AdmittedByBytesNotPackets()
    {
        var queue = new DropTailQueue(limitPackets: int.MaxValue, limitBytes: 3000);
        Assert.True(queue.Enqueue(Packet(1500), 0));
        Assert.True(queue.Enqueue(Packet(1400), 0));
        Assert.False(queue.Enqueue(Packet(1500), 0)); // 4400 bytes would exceed the limit
        Assert.True(queue.Enqueue(Packet(100), 0));   // exactly 3000
        Assert.False(queue.Enqueue(Packet(20), 0));
        Assert.Equal((3, 3000L, 2L), (queue.Count, queue.Bytes, queue.Dropped));
    }

    // Holds RED's average at `average` (a negligible weight) and offers `arrivals` packets, each leaving at once.
    private static (long Dropped, long Marked) RedAt(double average, int arrivals, bool ecnMarking, EcnCodepoint ecn)
    {
        var queue = new RedQueue(1000, minThreshold: 10, maxThreshold: 30, maxP: 0.1, weight: 1e-12, ecnMarking, new Random(5));
        for (int i = 0; i < arrivals; i++)
        {
            queue.SetAverage(average);
            queue.Enqueue(Packet(1000, ecn), i);
            queue.Dequeue(i);
        }

        return (queue.Dropped, queue.Marked);
    }

    [Fact]
    public void RedAverageBelowMinimum_Arrivals_NoneDropped()
    {
        Assert.Equal((0L, 0L), RedAt(9.9, 10_000, ecnMarking: false, EcnCodepoint.NotEct));
    }

    [Fact]
    public void RedAverageAboveMaximum_Arrivals_AllDropped()
    {
        Assert.Equal((1000L, 0L), RedAt(30.5, 1000, ecnMarking: false, EcnCodepoint.NotEct));
    }

    [Theory]
    [InlineData(15.0)]
    [InlineData(20.0)]
    [InlineData(28.0)]
    public void RedAverageBetweenThresholds_ManyArrivals_DropFractionIsTwoPbOverOnePlusPb(double average)
    {
        const int arrivals = 40_000;
        double pb = 0.1 * (average - 10) / (30 - 10);
        double expected = 2 * pb / (1 + pb);
        (long dropped, long marked) = RedAt(average, arrivals, ecnMarking: false, EcnCodepoint.NotEct);
        Assert.Equal(0, marked);
        Assert.InRange((double)dropped / arrivals, expected * 0.9, expected * 1.1);
    }

    [Fact]
    public void RedWithEcnMarkingBetweenThresholds_EctArrivals_MarkedInsteadOfDropped()
    {
        const int arrivals = 40_000;
        double pb = 0.1 * (20.0 - 10) / (30 - 10);
        (long dropped, long marked) = RedAt(20, arrivals, ecnMarking: true, EcnCodepoint.Ect0);
        Assert.Equal(0, dropped);
        Assert.InRange((double)marked / arrivals, 2 * pb / (1 + pb) * 0.9, 2 * pb / (1 + pb) * 1.1);
    }

    [Fact]
    public void RedWithEcnMarking_NotEctArrivals_StillDropped()
    {
        (long dropped, long marked) = RedAt(20, 10_000, ecnMarking: true, EcnCodepoint.NotEct);
        Assert.Equal(0, marked);
        Assert.True(dropped > 0);
    }

    // CoDel with a standing queue: every millisecond a packet leaves, and two arrive stamped 20 ms
    // earlier, so each departure sees 20 ms of sojourn (above the 5 ms target) and a backlog.
    private static List<long> CoDelDropTimes(bool ecnMarking, EcnCodepoint ecn, out CoDelQueue queue, int milliseconds = 1000)
    {
        queue = new CoDelQueue(100_000, targetMicros: 5_000, intervalMicros: 100_000, maxPacket: 1500, ecnMarking);
        var events = new List<long>();
        queue.Enqueue(Packet(1000, ecn), -20_000); // a backlog above one MTU from the start
        queue.Enqueue(Packet(1000, ecn), -20_000);
        for (long ms = 0; ms < milliseconds; ms++)
        {
            long now = ms * 1000;
            long before = queue.Dropped + queue.Marked;
            queue.Enqueue(Packet(1000, ecn), now - 20_000);
            queue.Enqueue(Packet(1000, ecn), now - 20_000);
            queue.Dequeue(now);
            for (long n = queue.Dropped + queue.Marked; n > before; n--)
            {
                events.Add(now);
            }
        }

        return events;
    }

    [Fact]
    public void CoDelDelayAboveTarget_FirstInterval_NoDropThenFirstDropAtInterval()
    {
        List<long> drops = CoDelDropTimes(ecnMarking: false, EcnCodepoint.NotEct, out _);
        Assert.NotEmpty(drops);
        Assert.Equal(100_000, drops[0]); // first above target at 0 ms, dropping at 0 + interval
    }

    [Fact]
    public void CoDelDropping_DelayStaysAboveTarget_SpacingShrinksAsIntervalOverSqrtCount()
    {
        List<long> drops = CoDelDropTimes(ecnMarking: false, EcnCodepoint.NotEct, out _);
        Assert.True(drops.Count >= 10, $"{drops.Count} drops");
        for (int count = 1; count < 10; count++)
        {
            double gap = drops[count] - drops[count - 1];
            double expected = 100_000 / Math.Sqrt(count);
            Assert.InRange(gap, expected - 1000, expected + 1000); // departures are 1 ms apart
        }
    }

    [Fact]
    public void CoDelWithEcnMarking_EctPacketsAboveTarget_MarkedOnTheSameScheduleNotDropped()
    {
        List<long> marks = CoDelDropTimes(ecnMarking: true, EcnCodepoint.Ect0, out CoDelQueue queue);
        Assert.Equal(0, queue.Dropped);
        Assert.Equal(100_000, marks[0]);
        Assert.InRange(marks[2] - marks[1], (100_000 / Math.Sqrt(2)) - 1000, (100_000 / Math.Sqrt(2)) + 1000);
    }

    [Fact]
    public void CoDelDelayBelowTarget_ManyDepartures_NothingDropped()
    {
        var queue = new CoDelQueue(1000, 5_000, 100_000, 1500, ecnMarking: false);
        for (long ms = 0; ms < 1000; ms++)
        {
            queue.Enqueue(Packet(1000), (ms * 1000) - 4_000);
            queue.Enqueue(Packet(1000), (ms * 1000) - 4_000);
            queue.Dequeue(ms * 1000);
            queue.Dequeue(ms * 1000);
        }

        Assert.Equal(0, queue.Dropped);
    }
}
