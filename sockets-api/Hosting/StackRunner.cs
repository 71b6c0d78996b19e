// Hosting/ drives a NetworkStack with the real clock on one dedicated thread.
using System.Diagnostics;
using System.Threading.Channels;
using TunStack.Links;

namespace TunStack.Sockets.Hosting;

/// <summary>
/// Runs one <see cref="NetworkStack"/> on its own thread: it polls the stack, then sleeps until the
/// stack's next deadline, a link's <see cref="ILink.ReceiveReady"/> signal, or work posted with
/// <see cref="Post"/>/<see cref="InvokeAsync{T}"/>. The stack is touched by one thread at a time
/// (ARCHITECTURE rule 2): the loop holds <see cref="Gate"/> while it polls and releases it while it
/// sleeps; the sockets facade takes the same gate for its short calls (<see cref="Enter"/>).
/// </summary>
public sealed class StackRunner : IDisposable
{
    private static readonly TimeSpan s_virtualIdle = TimeSpan.FromMilliseconds(2);
    private readonly NetworkStack _stack;
    private readonly ILink _link;
    private readonly Channel<Action<NetworkStack>> _work = Channel.CreateUnbounded<Action<NetworkStack>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AutoResetEvent _wake = new(false);
    private static readonly long s_epoch = Stopwatch.GetTimestamp();
    private static readonly long s_unixMicrosecondsAtEpoch = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private readonly Thread _thread;
    private readonly StackClock _clock;
    private Instant _virtualNow;
    private Instant _sleepingUntil;
    private volatile bool _activity;
    private volatile bool _stopping;
    private bool _disposed;
    private Exception? _failure;
    private readonly MemoryReturnPolicy _memoryReturn = new();
    private readonly object _heartbeatsLock = new();
    private volatile StackHeartbeat[] _heartbeats = [];

    // The loop waits in the link (poll() on a TUN) rather than on _wake.
    private readonly bool _waitInLink;

    // A thread of its own blocks in the link's read() and hands each packet to the stack at once
    // (ILink.ReadBlocking); the loop then only runs timers and the applications' work.
    private readonly Thread? _reader;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Creates a runner and its stack on <paramref name="link"/>, the stack starting at the runner's
    /// current time. Call <see cref="Start"/> to begin.
    /// </summary>
    public StackRunner(ILink link, StackOptions options, string name = "tunstack", StackClock clock = StackClock.Real)
    {
        ArgumentNullException.ThrowIfNull(link);
        _clock = clock;
        _stack = new NetworkStack(link, options, CurrentTime);
        _link = link;
        link.ReceiveReady = Wake;
        if (clock == StackClock.Real && link.CanReadBlocking && Environment.GetEnvironmentVariable(ReaderThreadVariable) != "0")
        {
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = ReaderThreadName };
        }

        _waitInLink = _reader is null && clock == StackClock.Real && link.CanWaitForPackets;
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
    }

    /// <summary>
    /// The environment variable that, set to 0, keeps a runner from giving a link that allows it
    /// (<see cref="ILink.CanReadBlocking"/>, a single-queue TUN on Linux 6.x) a reader thread of its
    /// own: the loop then waits in poll() and reads as well (for comparisons).
    /// </summary>
    public const string ReaderThreadVariable = "TUNSTACK_READER_THREAD";

    /// <summary>The name of a runner's reader thread (as the kernel shows it, at most 15 bytes).</summary>
    public const string ReaderThreadName = "tunstack-reader";

    /// <summary>True when a thread of its own reads the link (see <see cref="ReaderThreadVariable"/>).</summary>
    public bool HasReaderThread => _reader is not null;

    /// <summary>The current time on the real clock (monotonic, shared by every runner in the process).</summary>
    public static Instant Now => new(Stopwatch.GetElapsedTime(s_epoch).Ticks / TimeSpan.TicksPerMicrosecond);

    /// <summary>The Unix time (µs) at the real clock's <see cref="Instant.Zero"/>, for pcapng timestamps.</summary>
    public static long UnixMicrosecondsAtZero => s_unixMicrosecondsAtEpoch;

    /// <summary>The time on this runner's clock (<see cref="Now"/>, or the virtual time).</summary>
    public Instant CurrentTime => _clock == StackClock.Real ? Now : _virtualNow;

    /// <summary>Which clock this runner uses.</summary>
    public StackClock Clock => _clock;

    /// <summary>Counters of the stack (safe to read from any thread; values may be a moment stale).</summary>
    public StackCounters Counters => _stack.Counters;

    /// <summary>
    /// Completes when the loop started by <see cref="Start"/> has ended: successfully after
    /// <see cref="Stop"/> or <see cref="Dispose"/>, faulted with the exception that ended it
    /// otherwise (a link that could not be read or written, say). A host that runs until told to
    /// stop watches it, so that a stack that has died is noticed rather than waited on.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// The lock that gives one thread at a time the stack. A <see cref="Lock"/>, not a monitor on an
    /// object: the reader thread takes it for every packet it hands over, and Lock's uncontended
    /// enter and exit stay in managed code where a monitor calls into the runtime.
    /// </summary>
    internal Lock Gate { get; } = new();

    /// <summary>
    /// Give memory back to the operating system after a peak of connections has mostly closed (one
    /// compacting, decommitting garbage collection on the loop's thread; the process pauses for it).
    /// Off by default: the collection is process-wide. The daemon turns it on.
    /// </summary>
    public bool ReturnMemoryAfterPeaks { get; set; }

    /// <summary>
    /// Runs <paramref name="beat"/> on the loop's thread, holding the stack (as <see cref="Post"/>'s
    /// actions do), every <paramref name="interval"/> of real time while the loop runs, the first
    /// time at once: an idle loop wakes for it. Because the loop itself runs it, a loop that hangs
    /// stops beating, which is what a watchdog needs to see; it is also where a consistent look at
    /// the stack costs nothing extra. A beat costs one comparison per loop iteration when it is not
    /// due. On the <see cref="StackClock.Manual"/> clock there is no loop and no beat. Dispose the
    /// result to stop the beats.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public IDisposable AddHeartbeat(TimeSpan interval, Action<NetworkStack> beat)
    {
        ArgumentNullException.ThrowIfNull(beat);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var heartbeat = new StackHeartbeat(this, interval, beat);
        lock (_heartbeatsLock)
        {
            _heartbeats = [.. _heartbeats, heartbeat];
        }

        Wake();
        return heartbeat;
    }

    internal void RemoveHeartbeat(StackHeartbeat heartbeat)
    {
        lock (_heartbeatsLock)
        {
            _heartbeats = _heartbeats.Where(h => h != heartbeat).ToArray();
        }
    }

    /// <summary>Starts the loop thread.</summary>
    /// <exception cref="InvalidOperationException">The runner is on the <see cref="StackClock.Manual"/> clock, which its owner drives.</exception>
    public void Start()
    {
        if (_clock == StackClock.Manual)
        {
            throw new InvalidOperationException("A runner on the manual clock has no loop: its owner moves the time (AdvanceTo) and polls the stack through Enter.");
        }

        _thread.Start();
        if (_reader is not null)
        {
            lock (Gate)
            {
                _link.BeginBlockingReads();
            }

            _reader.Start();
        }
    }

    /// <summary>
    /// Moves the <see cref="StackClock.Manual"/> clock forward to <paramref name="time"/> (never
    /// back) and tells the stack, without polling it: the owner then polls through
    /// <see cref="Enter"/> (<c>call.Stack.Poll(runner.CurrentTime)</c>) so that the timers due by
    /// then fire. Step from deadline to deadline (<see cref="NetworkStack.NextDeadline"/>) for each
    /// timer to fire at its own time.
    /// </summary>
    /// <exception cref="InvalidOperationException">The runner is on another clock.</exception>
    public void AdvanceTo(Instant time)
    {
        if (_clock != StackClock.Manual)
        {
            throw new InvalidOperationException("Only a runner on the manual clock is moved by its owner.");
        }

        lock (Gate)
        {
            if (time > _virtualNow)
            {
                _virtualNow = time;
                _stack.SetTime(time);
            }
        }
    }

    /// <summary>
    /// Gives the calling thread the stack, at the current time, until <see cref="StackCall.Dispose"/>:
    /// <c>using (StackCall call = runner.Enter()) { ... call.Stack ... }</c>. On leaving, packets the
    /// call queued go to the link at once, and the loop is woken if the call moved a deadline before
    /// the loop's wake-up or left looped-back packets. Keep calls short: the loop waits for them.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The runner is stopping.</exception>
    public StackCall Enter()
    {
        Gate.Enter();
        if (_stopping)
        {
            Gate.Exit();
            throw new ObjectDisposedException(nameof(StackRunner), "The stack is stopped.");
        }

        _stack.SetTime(CurrentTime);
        return new StackCall(this, _stack);
    }

    /// <summary>The stack, for code already inside <see cref="Enter"/> (under the gate).</summary>
    internal NetworkStack StackUnderGate => _stack;

    internal void Exit()
    {
        bool wake = _stack.FlushOutput() || _stack.NextDeadline < _sleepingUntil;
        _activity = true;
        Gate.Exit();
        if (wake)
        {
            Wake();
        }
    }

    /// <summary>Queues <paramref name="action"/> to run on the stack's thread.</summary>
    public void Post(Action<NetworkStack> action)
    {
        ObjectDisposedException.ThrowIf(!_work.Writer.TryWrite(action), this);

        Wake();
    }

    /// <summary>Runs <paramref name="func"/> on the stack's thread and returns its result.</summary>
    public Task<T> InvokeAsync<T>(Func<NetworkStack, T> func)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(stack =>
        {
            try
            {
                done.SetResult(func(stack));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    /// <summary>
    /// Wakes the loop (for example after an application queued data). Safe from any thread at any
    /// time, also while or after the runner is disposed (a link's poll thread may still call it).
    /// </summary>
    public void Wake()
    {
        _activity = true;
        try
        {
            if (_waitInLink)
            {
                _link.InterruptWait();
            }
            else
            {
                _wake.Set();
            }
        }
        catch (ObjectDisposedException)
        {
            // Stopped: nothing to wake.
        }
    }

    /// <summary>Stops the loop and waits for the thread; rethrows a failure of the loop.</summary>
    public void Stop()
    {
        Shutdown();
        if (_failure is not null)
        {
            throw new InvalidOperationException("The stack loop failed.", _failure);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Shutdown();
        if (!_disposed)
        {
            _disposed = true;
            _link.ReceiveReady = null;
            _wake.Dispose();
        }
    }

    private void Shutdown()
    {
        _stopping = true;
        _work.Writer.TryComplete();
        Wake();

        if (_reader is not null && _reader.IsAlive && Thread.CurrentThread != _reader)
        {
            // A signal can reach the reader just before it enters read(): ask until it has left.
            do
            {
                _link.InterruptRead();
            }
            while (!_reader.Join(TimeSpan.FromMilliseconds(20)));
        }

        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    // The reader thread: blocks in the link's read() outside the gate; with packets, takes the
    // gate and hands them to the stack, which answers them at once from this thread. When that
    // moved the stack's next deadline before the loop's wake-up (a delayed ACK, a retransmission
    // timer), the loop is woken to sleep less.
    private void ReadLoop()
    {
        var batch = new Storage.PacketBatch(64, _link.MaxPacketLength);
        try
        {
            while (!_stopping)
            {
                batch.Clear();
                if (_link.ReadBlocking(batch) == 0)
                {
                    continue;
                }

                bool wake;
                lock (Gate)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    Instant next = _stack.Deliver(batch, CurrentTime);
                    wake = next < _sleepingUntil;
                    _activity = true;
                }

                if (wake)
                {
                    Wake();
                }
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    // A failure of either thread stops both: the loop ends at its next turn, the reader at its
    // next packet or sooner (its read is interrupted; Stop repeats that until it has left), and
    // Stop rethrows the first failure.
    private void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        _stopping = true;
        _work.Writer.TryComplete();
        _completion.TrySetException(e);
        Wake();
        if (_reader is not null && Thread.CurrentThread != _reader)
        {
            _link.InterruptRead();
        }
    }

    private void Loop()
    {
        try
        {
            while (!_stopping)
            {
                Instant now;
                Instant next;
                bool returnMemory;
                lock (Gate)
                {
                    // Application work runs at the current time, not the time of the last poll.
                    _stack.SetTime(CurrentTime);
                    while (_work.Reader.TryRead(out Action<NetworkStack>? action))
                    {
                        action(_stack);
                    }

                    now = CurrentTime;
                    next = _stack.Poll(now);
                    _sleepingUntil = next;
                    _activity = false;
                    returnMemory = ReturnMemoryAfterPeaks && _memoryReturn.Observe(_stack.TcpConnections.Connections, now);
                    if (_heartbeats.Length > 0)
                    {
                        // On the real clock the loop sleeps no longer than to the next beat.
                        Instant beatDue = Beat();
                        if (_clock == StackClock.Real && beatDue < next)
                        {
                            next = beatDue;
                            _sleepingUntil = next;
                        }
                    }
                }

                if (returnMemory)
                {
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    continue;
                }

                if (next <= now)
                {
                    continue;
                }

                if (_clock == StackClock.Virtual)
                {
                    SleepVirtual(next);
                    continue;
                }

                // Sleep to the deadline (capped so a stop request is seen within a second): in
                // the link itself when it can be waited on (the kernel wakes this thread when a
                // packet arrives), else until ReceiveReady or Wake signals.
                long waitMicros = Math.Min(next.Microseconds - now.Microseconds, 1_000_000);
                TimeSpan wait = TimeSpan.FromTicks(Math.Max(1, waitMicros) * TimeSpan.TicksPerMicrosecond);
                if (_waitInLink)
                {
                    _link.WaitForPackets(wait);
                }
                else
                {
                    _wake.WaitOne(wait);
                }
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }

        _completion.TrySetResult();
    }

    // Runs the heartbeats that are due (on the real clock, whatever the stack's clock); returns
    // when the next one is. Under the gate.
    private Instant Beat()
    {
        Instant real = Now;
        Instant earliest = Instant.MaxValue;
        foreach (StackHeartbeat heartbeat in _heartbeats)
        {
            Instant due = heartbeat.BeatIfDue(_stack, real);
            if (due < earliest)
            {
                earliest = due;
            }
        }

        return earliest;
    }

    // Virtual time: wait a moment of real time for activity; if none came, jump to the deadline.
    private void SleepVirtual(Instant next)
    {
        if (_wake.WaitOne(next == Instant.MaxValue ? TimeSpan.FromSeconds(1) : s_virtualIdle) || next == Instant.MaxValue)
        {
            return;
        }

        lock (Gate)
        {
            if (!_activity && next > _virtualNow)
            {
                _virtualNow = next;
            }
        }
    }
}
