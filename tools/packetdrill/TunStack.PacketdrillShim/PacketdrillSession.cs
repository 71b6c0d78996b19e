// One packetdrill run against one stack: the virtual clock, the script's wire, and how blocked
// calls wait. The socket calls are in PacketdrillSession.Sockets.cs, the options in
// PacketdrillSession.Options.cs.
using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.PacketdrillShim;

/// <summary>
/// The stack packetdrill tests: one <see cref="StackHost"/> on a <see cref="ScriptLink"/>, whose
/// runner is on the <see cref="StackClock.Manual"/> clock that only this session moves.
/// <para>
/// Time: gettimeofday reads the virtual clock (and moves it by a microsecond, so that
/// packetdrill's spin until an event's time ends); usleep moves it, firing every stack timer at its
/// own deadline on the way; netdev_receive moves it from deadline to deadline until the stack
/// sends something, or gives up after <see cref="ShimOptions.ReceiveTimeout"/>.
/// </para>
/// <para>
/// Threads: packetdrill makes blocking calls on a thread of their own while its main thread goes
/// on injecting packets and moving time. One lock covers the session and the stack. A blocked
/// call releases it and parks until another call changes something; every call that changed
/// something (and every step of the clock) then waits, before returning, until each parked call
/// has looked again: so a read woken by an injected segment returns before the script's next
/// event, in virtual time as in the kernel. When nothing at all has called in for a while of real
/// time (the script's thread waits for the blocked call to end), the one parked call moves the
/// clock to the next deadline itself.
/// </para>
/// </summary>
internal sealed partial class PacketdrillSession : IDisposable
{
    /// <summary>The Unix time, in µs, that gettimeofday reports at the virtual clock's zero (2023-11-14 22:13:20 UTC).</summary>
    private const long EpochMicroseconds = 1_700_000_000L * 1_000_000;

    private static readonly TimeSpan s_microsecond = TimeSpan.FromTicks(TimeSpan.TicksPerMicrosecond);

    // Real time a parked call waits with nobody calling in before it moves the clock itself
    // (packetdrill waits one second for a blocked call to end before it calls the script broken),
    // and, once it has, before it moves it again while still nobody has called.
    private static readonly TimeSpan s_idleBeforeParkedCallMovesClock = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan s_idleWhileParkedCallMovesClock = TimeSpan.FromMilliseconds(1);

    // Real time netdev_receive gives a thread that is on its way into the shim (packetdrill's
    // blocking-call thread, just released) before it moves the clock past what that call would do.
    private static readonly TimeSpan s_graceBeforeClockJump = TimeSpan.FromMilliseconds(2);

    // Real time a call that changed something waits for the parked calls to look (a safety bound only).
    private static readonly TimeSpan s_handOffLimit = TimeSpan.FromSeconds(10);

    private readonly object _lock = new();
    private readonly ShimOptions _options;
    private readonly ScriptLink _link;
    private readonly StackRunner _runner;
    private readonly StackHost _host;
    private readonly StackOptions _stackOptions;
    private readonly DescriptorTable _descriptors = new();
    private readonly List<Instant> _parkedDeadlines = new();
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private long _generation;   // moves whenever the stack or the clock may have changed for a parked call
    private int _parked;        // calls waiting for the generation to move
    private int _behind;        // parked calls that have not yet looked at the current generation
    private int _inside;        // threads in a call: waiting for the lock, holding it, or parked
    private long _calls;        // every call that entered, for the parked call's idleness test
    private long _callsWhenParkedCallMovedClock = -1; // _calls when a parked call last moved the clock itself
    private bool _disposed;

    public PacketdrillSession(ShimOptions options)
    {
        _options = options;
        _link = new ScriptLink(options.Mtu);
        // Linux's wire choices where TunStack's own differ (restart after idle, HyStart); the
        // namespace's tcp_slow_start_after_idle then decides the first at each socket().
        var stackOptions = new StackOptions { RandomSeed = options.Seed }.Apply(StackProfile.Linux);
        _stackOptions = stackOptions;

        // The buffers packetdrill's tcp tests give Linux (common/defaults.sh: tcp_rmem "4096 540000
        // 15 MiB", tcp_wmem "4096 256 KiB 4 MiB"): the window scale offered follows the largest
        // receive buffer (8, as Linux's, where the stack's own 4 MiB gives 7).
        stackOptions.Tcp.ReceiveBufferSize = 540_000;
        stackOptions.Tcp.ReceiveBufferMax = 15 * 1024 * 1024;
        stackOptions.Tcp.SendBufferSize = 256 * 1024;
        stackOptions.Tcp.SendBufferMax = 4 * 1024 * 1024;
        stackOptions.Addresses.Add(options.LocalV4);
        stackOptions.Addresses.Add(options.LocalV6);
        _runner = new StackRunner(_link, stackOptions, "packetdrill", StackClock.Manual);
        _host = StackHost.Attach(_runner, stackOptions);
    }

    /// <summary>The virtual time.</summary>
    private Instant Now => _runner.CurrentTime;

    // ---- entering and leaving ----------------------------------------------------------------

    /// <summary>Starts a call (see <see cref="SessionCall"/>): <c>using SessionCall call = Enter();</c>.</summary>
    private SessionCall Enter() => new(this);

    internal void Arrive()
    {
        Interlocked.Increment(ref _inside);
        Monitor.Enter(_lock);
        _calls++;
    }

    internal void Leave()
    {
        try
        {
            _generation++; // any call may have changed what a parked call waits for
            HandOff();
        }
        finally
        {
            Monitor.Exit(_lock);
            Interlocked.Decrement(ref _inside);
        }
    }

    // ---- the packetdrill calls that are not socket calls -------------------------------------

    /// <summary>netdev_send: the script injects <paramref name="packet"/> (an IP datagram); the stack takes it at once.</summary>
    public long Inject(ReadOnlySpan<byte> packet)
    {
        using SessionCall call = Enter();
        Trace($"netdev_send {packet.Length} bytes");
        WarnIfNotForUs(packet);
        if (!_link.Inject(packet))
        {
            Report($"a packet of {packet.Length} bytes, over the MTU ({_options.Mtu}) and no TCP segment, was dropped");
        }

        PollStack();
        return 0;
    }

    /// <summary>
    /// netdev_receive: the next packet the stack sent, and the virtual time (Unix µs) it left,
    /// running the clock from deadline to deadline until there is one; after
    /// <see cref="ShimOptions.ReceiveTimeout"/> of virtual time, an empty packet (0 bytes), which
    /// packetdrill reports as a bad packet: the script fails rather than hangs.
    /// </summary>
    public long Sniff(Span<byte> buffer, out int length, out long sentMicroseconds)
    {
        using SessionCall call = Enter();
        Instant giveUp = Now + _options.ReceiveTimeout;
        for (long step = 0; ; step++)
        {
            if (_link.TrySniff(out byte[] packet, out Instant sent))
            {
                length = Math.Min(packet.Length, buffer.Length);
                packet.AsSpan(0, length).CopyTo(buffer);
                sentMicroseconds = EpochMicroseconds + sent.Microseconds;
                Trace($"netdev_receive {packet.Length} bytes sent at {sent}");
                return 0;
            }

            if (LetOthersIn(step == 0) || _link.Sent > 0)
            {
                continue;
            }

            if (Now >= giveUp || step > 10_000_000)
            {
                Report($"netdev_receive: the stack sent nothing within {_options.ReceiveTimeout.TotalSeconds:0.###} s of virtual time (--so_flags receive_timeout=SECONDS)");
                length = 0;
                sentMicroseconds = EpochMicroseconds + Now.Microseconds;
                return 0;
            }

            StepTo(Instant.Min(NextDeadline(), giveUp));
        }
    }

    /// <summary>usleep: moves the virtual clock, firing every timer on the way at its deadline.</summary>
    public long Sleep(uint microseconds)
    {
        using SessionCall call = Enter();
        RunClockTo(Now + TimeSpan.FromTicks(microseconds * TimeSpan.TicksPerMicrosecond));
        return 0;
    }

    /// <summary>gettimeofday: the virtual time as Unix µs; each reading moves the clock by 1 µs.</summary>
    public long TimeOfDay(out long microseconds)
    {
        using SessionCall call = Enter();
        microseconds = EpochMicroseconds + Now.Microseconds;
        RunClockTo(Now + s_microsecond);
        return 0;
    }

    /// <summary>free: closes every socket still open and stops the stack.</summary>
    public void Dispose()
    {
        using SessionCall call = Enter();
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (EpollDescriptor epoll in _epolls.Values)
        {
            epoll.Set.Dispose(); // its placeholder is packetdrill's to close, as a socket's
        }

        _epolls.Clear();
        _descriptors.DisposeAll();
        _host.Dispose();
        _runner.Dispose();
        _link.Dispose();
    }

    // ---- the clock ---------------------------------------------------------------------------

    /// <summary>The stack's next deadline or a parked call's timeout, whichever comes first.</summary>
    private Instant NextDeadline()
    {
        Instant next;
        using (StackCall stack = _runner.Enter())
        {
            next = stack.Stack.NextDeadline;
        }

        foreach (Instant deadline in _parkedDeadlines)
        {
            next = Instant.Min(next, deadline);
        }

        return next;
    }

    /// <summary>Moves the clock to <paramref name="target"/>, stopping at every deadline before it.</summary>
    private void RunClockTo(Instant target)
    {
        for (int step = 0; step < 1_000_000; step++)
        {
            Instant next = NextDeadline();
            if (next > target)
            {
                break;
            }

            StepTo(next);
        }

        StepTo(target);
    }

    /// <summary>Moves the clock to <paramref name="time"/> (never back), polls the stack, and lets the parked calls look.</summary>
    private void StepTo(Instant time)
    {
        _runner.AdvanceTo(time);
        PollStack();
        _generation++;
        HandOff();
    }

    /// <summary>Polls the stack at the current time until it has no work left at this instant.</summary>
    private void PollStack()
    {
        for (int round = 0; round < 1000; round++)
        {
            using StackCall stack = _runner.Enter();
            if (stack.Stack.Poll(Now) > Now)
            {
                return;
            }
        }
    }

    // ---- blocked calls -----------------------------------------------------------------------

    /// <summary>
    /// Under the lock: runs <paramref name="attempt"/> until it has a result (not null). Between
    /// attempts, when <paramref name="mayWait"/>, the call parks until something changes or the
    /// virtual clock reaches <paramref name="timeout"/> after now (zero: no limit), and then
    /// returns <paramref name="onTimeout"/>'s result; when it may not wait, -EAGAIN.
    /// </summary>
    private long Block(Func<long?> attempt, bool mayWait, TimeSpan timeout, Func<long> onTimeout)
    {
        Instant deadline = timeout > TimeSpan.Zero ? Now + timeout : Instant.MaxValue;
        while (true)
        {
            if (attempt() is long result)
            {
                return result;
            }

            if (!mayWait)
            {
                return -Errno.EAGAIN;
            }

            if (Now >= deadline)
            {
                return onTimeout();
            }

            Park(deadline);
        }
    }

    // Waits (the lock released) until the generation moves or the clock reaches the deadline.
    private void Park(Instant deadline)
    {
        long seen = _generation;
        _parked++;
        _parkedDeadlines.Add(deadline);
        try
        {
            while (_generation == seen && Now < deadline)
            {
                long calls = _calls;
                bool woken = Monitor.Wait(_lock, calls == _callsWhenParkedCallMovedClock ? s_idleWhileParkedCallMovesClock : s_idleBeforeParkedCallMovesClock);
                if (!woken && _calls == calls && _generation == seen && _parked == 1 && Volatile.Read(ref _inside) == 1)
                {
                    // Nobody else is in the shim and nobody came: the script waits for this call.
                    // It moves the clock from deadline to deadline (at once after the first step,
                    // for as long as nobody calls) until it can return.
                    Instant next = NextDeadline();
                    if (next != Instant.MaxValue)
                    {
                        Trace($"a blocked call moves the clock to {next} itself");
                        _runner.AdvanceTo(next);
                        PollStack();
                        _callsWhenParkedCallMovedClock = _calls;
                        return;
                    }
                }
            }
        }
        finally
        {
            _parked--;
            _parkedDeadlines.Remove(deadline);
            if (_generation != seen && _behind > 0 && --_behind == 0)
            {
                Monitor.PulseAll(_lock);
            }
        }
    }

    // After a change (the generation moved): wakes the parked calls and waits until each has
    // looked at it. A second thread that changes something while a hand-off is under way does
    // not wait: the parked calls are about to look anyway.
    private void HandOff()
    {
        if (_parked == 0 || _behind > 0)
        {
            return;
        }

        _behind = _parked;
        Monitor.PulseAll(_lock);
        long start = Environment.TickCount64;
        while (_behind > 0)
        {
            if (Environment.TickCount64 - start > (long)s_handOffLimit.TotalMilliseconds)
            {
                Report("a blocked call did not look at a change within 10 s of real time; going on without it");
                _behind = 0;
                return;
            }

            Monitor.Wait(_lock, 100);
        }
    }

    // netdev_receive, before it moves the clock: lets the threads that are entering the shim go
    // first, and the first time also one that may be on its way (true when any call came meanwhile).
    private bool LetOthersIn(bool grace)
    {
        long calls = _calls;
        long start = Environment.TickCount64;
        if (grace)
        {
            Monitor.Wait(_lock, s_graceBeforeClockJump);
        }

        while (Volatile.Read(ref _inside) - 1 - _parked > 0 && Environment.TickCount64 - start < 1000)
        {
            Monitor.Wait(_lock, 1);
        }

        return _calls != calls;
    }

    // ---- messages ----------------------------------------------------------------------------

    private void WarnIfNotForUs(ReadOnlySpan<byte> packet)
    {
        InternetAddress? destination = packet.Length >= 20 && packet[0] >> 4 == 4 ? InternetAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(packet[16..]))
            : packet.Length >= 40 && packet[0] >> 4 == 6 ? InternetAddress.FromV6(packet.Slice(24, 16))
            : null;
        if (destination is { } to && to != _options.LocalV4.Address && to != _options.LocalV6.Address)
        {
            Report($"a packet to {to}, which is not the stack's address ({_options.LocalV4.Address}, {_options.LocalV6.Address}): run packetdrill with --local_ip equal to the shim's local_ip");
        }
    }

    /// <summary>Writes <paramref name="message"/> to stderr once per session.</summary>
    private void Report(string message)
    {
        if (_reported.Add(message))
        {
            Console.Error.WriteLine("tunstack-packetdrill: " + message);
        }
    }

    private void Trace(string message)
    {
        if (_options.Verbose)
        {
            Console.Error.WriteLine($"tunstack-packetdrill: [{Now}] {message}");
        }
    }
}
