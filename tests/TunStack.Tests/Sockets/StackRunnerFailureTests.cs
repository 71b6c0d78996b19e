using TunStack.Links;
using TunStack.Sockets.Hosting;
using TunStack.Storage;

namespace TunStack.Tests.Sockets;

/// <summary>StackRunner with a reader thread: a failure of either thread stops both.</summary>
public class StackRunnerFailureTests
{
    [Fact]
    public void ReaderThreadBlocked_LoopFails_ReaderLeavesAndStopRethrows()
    {
        using var link = new BlockingReadLink();
        using var runner = new StackRunner(link, new StackOptions(), "runner-failure-test");
        Assert.True(runner.HasReaderThread);
        runner.Start();
        Assert.True(link.Reading.Wait(TimeSpan.FromSeconds(5))); // the reader is blocked in its read

        runner.Post(_ => throw new InvalidOperationException("planted"));

        Assert.True(link.Left.Wait(TimeSpan.FromSeconds(5)), "the reader thread still reads after the loop failed");
        InvalidOperationException failed = Assert.Throws<InvalidOperationException>(runner.Stop);
        Assert.Equal("planted", failed.InnerException?.Message);
    }

    // A link read by a blocking reader that never receives a packet: its read waits until
    // InterruptRead, and the reader thread is gone once a read has ended and no other began.
    private sealed class BlockingReadLink : ILink
    {
        private readonly SemaphoreSlim _interrupt = new(0);
        private int _reads;

        public ManualResetEventSlim Reading { get; } = new();

        public ManualResetEventSlim Left { get; } = new();

        public int Mtu => 1500;

        public Action? ReceiveReady { get; set; }

        public bool CanReadBlocking => true;

        public int Receive(PacketBatch batch, Instant now) => 0;

        public void Transmit(PacketBatch batch, Instant now)
        {
        }

        public void BeginBlockingReads()
        {
        }

        public int ReadBlocking(PacketBatch batch)
        {
            Interlocked.Increment(ref _reads);
            Left.Reset();
            Reading.Set();
            _interrupt.Wait();
            if (Interlocked.Decrement(ref _reads) == 0)
            {
                // Left for good unless another read starts at once; the test waits for this.
                Task.Delay(100).ContinueWith(_ =>
                {
                    if (Volatile.Read(ref _reads) == 0)
                    {
                        Left.Set();
                    }
                });
            }

            return 0;
        }

        public void InterruptRead() => _interrupt.Release();

        public void Dispose()
        {
        }
    }
}
