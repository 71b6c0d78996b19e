using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

/// <summary>StackRunner.AddHeartbeat: periodic callbacks run by the stack's own loop.</summary>
public class StackHeartbeatTests
{
    [Fact]
    public async Task IdleLoop_HeartbeatEvery50ms_BeatsOnTheLoopThreadUntilDisposed()
    {
        (MemoryLink near, _) = MemoryLink.CreatePair();
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.5.0.1/24"));
        using var runner = new StackRunner(near, options, "heartbeat-test");
        runner.Start();
        int loopThread = await runner.InvokeAsync(_ => Environment.CurrentManagedThreadId);

        var beats = new List<(int Thread, long Ticks)>();
        var running = System.Diagnostics.Stopwatch.StartNew();
        IDisposable heartbeat = runner.AddHeartbeat(TimeSpan.FromMilliseconds(50), stack =>
        {
            lock (beats)
            {
                beats.Add((Environment.CurrentManagedThreadId, DateTime.UtcNow.Ticks));
            }
        });

        // The loop would sleep up to a second with nothing to do; the beat wakes it 20 times a second.
        await Task.Delay(1000);
        heartbeat.Dispose();
        TimeSpan ran = running.Elapsed; // the delay itself may run late on a loaded machine
        int atDispose;
        lock (beats)
        {
            atDispose = beats.Count;
        }

        // 20 expected in a second; a loaded machine may delay some, never add any.
        Assert.InRange(atDispose, 5, (int)(ran / TimeSpan.FromMilliseconds(50)) + 1);
        Assert.All(beats, b => Assert.Equal(loopThread, b.Thread));
        TimeSpan[] gaps = beats.Zip(beats.Skip(1), (a, b) => TimeSpan.FromTicks(b.Ticks - a.Ticks)).ToArray();
        Assert.All(gaps, gap => Assert.True(gap >= TimeSpan.FromMilliseconds(45), $"beats {gap.TotalMilliseconds} ms apart"));

        await runner.InvokeAsync(_ => 0); // a loop iteration after the dispose
        await Task.Delay(200);
        lock (beats)
        {
            Assert.Equal(atDispose, beats.Count);
        }
    }

    [Fact]
    public void Runner_HeartbeatIntervalZero_Refused()
    {
        (MemoryLink near, _) = MemoryLink.CreatePair();
        using var runner = new StackRunner(near, new StackOptions());
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.AddHeartbeat(TimeSpan.Zero, _ => { }));
    }
}
