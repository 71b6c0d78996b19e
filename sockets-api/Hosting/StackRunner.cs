// Hosting/ drives a NetworkStack with the real clock on one dedicated thread.
using System.Diagnostics;
using System.Threading.Channels;
using TunStack.Links;

namespace TunStack.Sockets.Hosting;

/// <summary>
/// Runs one <see cref="NetworkStack"/> on its own thread with the real (monotonic) clock: it polls
/// the stack, then sleeps until the stack's next deadline, a link's <see cref="ILink.ReceiveReady"/>
/// signal, or work posted with <see cref="Post"/>/<see cref="InvokeAsync{T}"/>. All stack access
/// happens on that thread (ARCHITECTURE rule 2).
/// </summary>
public sealed class StackRunner : IDisposable
{
    private readonly NetworkStack _stack;
    private readonly ILink _link;
    private readonly Channel<Action<NetworkStack>> _work = Channel.CreateUnbounded<Action<NetworkStack>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AutoResetEvent _wake = new(false);
    private static readonly long s_epoch = Stopwatch.GetTimestamp();
    private static readonly long s_unixMicrosecondsAtEpoch = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private bool _disposed;
    private Exception? _failure;

    /// <summary>
    /// Creates a runner and its stack on <paramref name="link"/>, the stack starting at the runner's
    /// current time. Call <see cref="Start"/> to begin.
    /// </summary>
    public StackRunner(ILink link, StackOptions options, string name = "tunstack")
    {
        ArgumentNullException.ThrowIfNull(link);
        _stack = new NetworkStack(link, options, Now);
        _link = link;
        link.ReceiveReady = Wake;
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
    }

    /// <summary>The current time on the runners' clock (monotonic, shared by every runner in the process).</summary>
    public static Instant Now => new(Stopwatch.GetElapsedTime(s_epoch).Ticks / TimeSpan.TicksPerMicrosecond);

    /// <summary>The Unix time (µs) at the clock's <see cref="Instant.Zero"/>, for pcapng timestamps.</summary>
    public static long UnixMicrosecondsAtZero => s_unixMicrosecondsAtEpoch;

    /// <summary>Counters of the stack (safe to read from any thread; values may be a moment stale).</summary>
    public StackCounters Counters => _stack.Counters;

    /// <summary>Starts the loop thread.</summary>
    public void Start() => _thread.Start();

    /// <summary>Queues <paramref name="action"/> to run on the stack's thread.</summary>
    public void Post(Action<NetworkStack> action)
    {
        ObjectDisposedException.ThrowIf(!_work.Writer.TryWrite(action), this);

        _wake.Set();
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
        try
        {
            _wake.Set();
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

        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Loop()
    {
        try
        {
            while (!_stopping)
            {
                // Application work runs at the current time, not the time of the last poll.
                _stack.SetTime(Now);
                while (_work.Reader.TryRead(out Action<NetworkStack>? action))
                {
                    action(_stack);
                }

                Instant now = Now;
                Instant next = _stack.Poll(now);
                if (next <= now)
                {
                    continue;
                }

                // Sleep to the deadline (capped so a stop request is seen within a second).
                long waitMicros = Math.Min(next.Microseconds - now.Microseconds, 1_000_000);
                _wake.WaitOne(TimeSpan.FromTicks(Math.Max(1, waitMicros) * TimeSpan.TicksPerMicrosecond));
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }
}
