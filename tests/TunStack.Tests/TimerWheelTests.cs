namespace TunStack.Tests;

public class TimerWheelTests
{
    [Fact]
    public void RandomScheduleCancel_FiresExactlyDueTimersInOrder_MatchesModel()
    {
        var random = new Random(5);
        var start = Instant.FromMilliseconds(123_456);
        var wheel = new TimerWheel(start);
        var fired = new List<(int Id, Instant At, Instant Deadline)>();
        var model = new Dictionary<int, Instant>();
        var entries = new TimerEntry[300];
        Instant now = start;
        for (int i = 0; i < entries.Length; i++)
        {
            int id = i;
            entries[i] = new TimerEntry(at =>
            {
                fired.Add((id, at, entries[id].Deadline));
                model.Remove(id);
            });
        }

        for (int step = 0; step < 3000; step++)
        {
            int id = random.Next(entries.Length);
            switch (random.Next(4))
            {
                case 0:
                case 1:
                    // Spread over every level: ms, seconds, minutes, hours, days.
                    long micros = random.Next(5) switch
                    {
                        0 => random.Next(1, 300_000),
                        1 => random.Next(1, 70_000_000),
                        2 => random.NextInt64(1, 20_000_000_000),
                        3 => random.NextInt64(1, 200_000_000_000),
                        _ => 0,
                    };
                    Instant deadline = now + TimeSpan.FromTicks(micros * 10);
                    wheel.Schedule(entries[id], deadline);
                    model[id] = deadline;
                    break;
                case 2:
                    wheel.Cancel(entries[id]);
                    model.Remove(id);
                    break;
                default:
                    Instant expectedNext = model.Count == 0 ? Instant.MaxValue : model.Values.Min();
                    Assert.Equal(expectedNext, wheel.NextDeadline);
                    long jump = random.Next(3) switch { 0 => random.Next(0, 5_000), 1 => random.Next(0, 2_000_000), _ => random.NextInt64(0, 50_000_000_000) };
                    now += TimeSpan.FromTicks(jump * 10);
                    int before = fired.Count;
                    var due = model.Where(kv => kv.Value <= now).Select(kv => kv.Key).ToHashSet();
                    wheel.Advance(now);
                    Assert.Equal(due, fired.Skip(before).Select(f => f.Id).ToHashSet());
                    Assert.All(fired.Skip(before), f => Assert.True(f.Deadline <= f.At));
                    Assert.Equal(model.Count, wheel.Count);
                    break;
            }
        }
    }

    [Fact]
    public void CallbackReschedulesForNow_FiresOnNextAdvance_NoLoop()
    {
        var wheel = new TimerWheel(Instant.Zero);
        int count = 0;
        TimerEntry? entry = null;
        entry = new TimerEntry(at =>
        {
            count++;
            wheel.Schedule(entry!, at);
        });
        wheel.Schedule(entry, Instant.FromMilliseconds(5));
        wheel.Advance(Instant.FromMilliseconds(5));
        Assert.Equal(1, count);
        Assert.Equal(Instant.FromMilliseconds(5), wheel.NextDeadline);
        wheel.Advance(Instant.FromMilliseconds(5));
        Assert.Equal(2, count);
    }

    [Fact]
    public void CallbackCancelsAnotherDueTimer_OtherDoesNotFire()
    {
        // Two timers due in the same millisecond: whichever fires first cancels the other.
        var wheel = new TimerWheel(Instant.Zero);
        int fired = 0;
        TimerEntry? a = null, b = null;
        a = new TimerEntry(_ =>
        {
            fired++;
            wheel.Cancel(b!);
        });
        b = new TimerEntry(_ =>
        {
            fired++;
            wheel.Cancel(a!);
        });
        wheel.Schedule(a, Instant.FromMilliseconds(3));
        wheel.Schedule(b, Instant.FromMilliseconds(3));
        wheel.Advance(Instant.FromMilliseconds(3));
        Assert.Equal(1, fired);
        Assert.Equal(0, wheel.Count);

        // A callback cancelling a timer in a later slot.
        bool lateFired = false;
        var late = new TimerEntry(_ => lateFired = true);
        var early = new TimerEntry(_ => wheel.Cancel(late));
        wheel.Schedule(late, Instant.FromMilliseconds(400));
        wheel.Schedule(early, Instant.FromMilliseconds(300));
        wheel.Advance(Instant.FromMilliseconds(1000));
        Assert.False(lateFired);
    }

    [Fact]
    public void SubMillisecondDeadline_NeverFiresEarly()
    {
        var wheel = new TimerWheel(Instant.Zero);
        bool fired = false;
        var e = new TimerEntry(_ => fired = true);
        wheel.Schedule(e, new Instant(1500));
        wheel.Advance(new Instant(1499));
        Assert.False(fired);
        wheel.Advance(new Instant(2000));
        Assert.True(fired);
    }

    [Theory]
    [InlineData(256)]      // level 1 cascades at the next tick
    [InlineData(65_536)]   // level 2 cascades at the next tick
    public void SubMillisecondDeadlineFiledInAHigherLevel_AdvanceToItJustBeforeTheRangeStarts_Fires(long boundaryTick)
    {
        // Filed far ahead (a higher level), due half a millisecond before the tick that opens its
        // range: an Advance to the deadline fires it, and NextDeadline never reports a deadline
        // that Advance leaves unfired (a simulation would loop at that instant).
        var wheel = new TimerWheel(Instant.Zero);
        bool fired = false;
        var e = new TimerEntry(_ => fired = true);
        var deadline = new Instant((boundaryTick * 1000) - 500);
        wheel.Schedule(e, deadline);
        wheel.Advance(new Instant((boundaryTick - 2) * 1000));
        Assert.False(fired);
        Assert.Equal(deadline, wheel.NextDeadline);
        wheel.Advance(deadline);
        Assert.True(fired);
        Assert.Equal(Instant.MaxValue, wheel.NextDeadline);
    }
}
