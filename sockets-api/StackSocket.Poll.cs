// poll(2) and select(2) over stack sockets: readiness is computed as Linux's tcp_poll/udp_poll
// do, under the gate; waiting uses PollWaiters, which every socket event notifies.
using System.Collections;
using System.Diagnostics;
using System.Net.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;

namespace TunStack.Sockets;

public sealed partial class StackSocket
{
    [ThreadStatic]
    private static PollDescriptor[]? t_single;

    /// <summary>The readiness of this socket now (revents for every condition), as Linux's poll computes it.</summary>
    public PollEvents Readiness
    {
        get
        {
            using StackCall call = _runner.Enter();
            return ReadinessUnderGate();
        }
    }

    /// <summary>
    /// Socket.Poll: waits up to <paramref name="microSeconds"/> (negative: for ever) for
    /// SelectRead (data, end of stream, a connection to accept, an error), SelectWrite (room to
    /// write, a finished connect) or SelectError (a pending error, out-of-band data).
    /// </summary>
    public bool Poll(int microSeconds, SelectMode mode)
    {
        PollEvents wanted = mode switch
        {
            SelectMode.SelectRead => PollEvents.Readable | PollEvents.HangUp,
            SelectMode.SelectWrite => PollEvents.Writable,
            SelectMode.SelectError => PollEvents.Error | PollEvents.Priority,
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };
        PollDescriptor[] one = t_single ??= new PollDescriptor[1];
        one[0] = new PollDescriptor(this, wanted);
        int timeout = microSeconds < 0 ? -1 : (int)Math.Min(int.MaxValue, (microSeconds + 999L) / 1000);
        Poll(one, timeout);
        return (one[0].ReturnedEvents & (wanted | (mode == SelectMode.SelectRead ? PollEvents.Error : PollEvents.None))) != 0;
    }

    /// <summary>
    /// poll(2): fills each entry's <see cref="PollDescriptor.ReturnedEvents"/> and returns how many
    /// entries have any, waiting up to <paramref name="timeoutMilliseconds"/> (negative: for ever,
    /// 0: just look) until at least one does. Error, HangUp and Invalid are reported whether asked
    /// for or not. The sockets may belong to different hosts.
    /// </summary>
    public static int Poll(Span<PollDescriptor> descriptors, int timeoutMilliseconds)
    {
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            long generation = PollWaiters.Generation;
            int ready = 0;
            for (int i = 0; i < descriptors.Length; i++)
            {
                ref PollDescriptor d = ref descriptors[i];
                PollEvents all = d.Socket.Readiness;
                d.ReturnedEvents = all & (d.Events | PollEvents.Error | PollEvents.HangUp | PollEvents.Invalid);
                if (d.ReturnedEvents != PollEvents.None)
                {
                    ready++;
                }
            }

            if (ready > 0 || timeoutMilliseconds == 0)
            {
                return ready;
            }

            int remaining = Timeout.Infinite;
            if (timeoutMilliseconds > 0)
            {
                remaining = timeoutMilliseconds - (int)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (remaining <= 0)
                {
                    return 0;
                }
            }

            PollWaiters.Wait(generation, remaining);
        }
    }

    /// <summary>
    /// select(2) as Socket.Select: removes from each list the sockets that are not ready (read:
    /// readable, end of stream, connection to accept; write: writable; error: error or
    /// out-of-band data), waiting up to <paramref name="microSeconds"/> (negative: for ever).
    /// </summary>
    public static void Select(IList? checkRead, IList? checkWrite, IList? checkError, int microSeconds)
    {
        var all = new List<PollDescriptor>();
        Add(all, checkRead, PollEvents.Readable | PollEvents.HangUp);
        Add(all, checkWrite, PollEvents.Writable);
        Add(all, checkError, PollEvents.Error | PollEvents.Priority);
        if (all.Count == 0)
        {
            throw new ArgumentNullException(nameof(checkRead), "Select needs at least one socket.");
        }

        PollDescriptor[] array = all.ToArray();
        int timeout = microSeconds < 0 ? -1 : (int)Math.Min(int.MaxValue, (microSeconds + 999L) / 1000);
        Poll(array, timeout);
        int index = 0;
        Keep(checkRead, array, ref index, PollEvents.Readable | PollEvents.HangUp | PollEvents.Error);
        Keep(checkWrite, array, ref index, PollEvents.Writable | PollEvents.Error);
        Keep(checkError, array, ref index, PollEvents.Error | PollEvents.Priority);
    }

    private static void Add(List<PollDescriptor> all, IList? list, PollEvents events)
    {
        if (list is null)
        {
            return;
        }

        foreach (object? item in list)
        {
            all.Add(new PollDescriptor(item as StackSocket ?? throw new ArgumentException("Select takes StackSocket lists."), events));
        }
    }

    private static void Keep(IList? list, PollDescriptor[] results, ref int index, PollEvents ready)
    {
        if (list is null)
        {
            return;
        }

        for (int i = 0; i < list.Count; i++, index++)
        {
            if ((results[index].ReturnedEvents & ready) == 0)
            {
                list.RemoveAt(i);
                i--;
            }
        }
    }

    // Linux tcp_poll / datagram_poll, under the gate.
    private PollEvents ReadinessUnderGate()
    {
        if (_closed)
        {
            return PollEvents.Invalid;
        }

        UpdateConnecting();
        PollEvents events = PollEvents.None;
        if (_udp is not null)
        {
            if (_udp.HasPendingError)
            {
                events |= PollEvents.Error;
            }

            if (_udp.QueuedDatagrams > 0 || _shutdownReceive)
            {
                events |= PollEvents.Readable;
            }

            if (!_shutdownSend)
            {
                events |= PollEvents.Writable;
            }

            return events;
        }

        if (_pendingError != StackError.None)
        {
            events |= PollEvents.Error;
        }

        if (_listener is not null)
        {
            return events | (_listener.PendingCount > 0 ? PollEvents.Readable : PollEvents.None);
        }

        if (_connection is not { } c)
        {
            // A socket never connected (or whose connect failed): POLLOUT | POLLHUP, as Linux.
            return events | PollEvents.Writable | PollEvents.HangUp;
        }

        if (c.Error != StackError.None && !_fatalReported)
        {
            events |= PollEvents.Error;
        }

        if (_connecting)
        {
            return events;
        }

        bool peerClosed = c.PeerClosed || c.State == TcpConnectionState.Closed;
        if (c.Available > 0 || peerClosed || _shutdownReceive)
        {
            events |= PollEvents.Readable;
        }

        if (peerClosed)
        {
            events |= PollEvents.ReadHangUp;
        }

        if (c.State == TcpConnectionState.Closed || (peerClosed && _shutdownSend))
        {
            events |= PollEvents.HangUp;
        }

        if (_shutdownSend || c.State == TcpConnectionState.Closed || c.SendSpace > 0 && c.State is TcpConnectionState.Established or TcpConnectionState.CloseWait)
        {
            events |= PollEvents.Writable;
        }

        if (c.HasUrgentData)
        {
            events |= PollEvents.Priority;
        }

        return events;
    }
}
