// poll(2) and select(2) over stack sockets: readiness is computed as Linux's tcp_poll/udp_poll
// do, under the gate; a waiting poll watches only its own sockets (PollWaiter on each socket's
// watchers), so an event wakes only the polls and PollSets that watch that socket.
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
    /// for or not. The sockets may belong to different hosts. Each call looks at every descriptor:
    /// for many sockets, register them once in a <see cref="PollSet"/>.
    /// </summary>
    public static int Poll(Span<PollDescriptor> descriptors, int timeoutMilliseconds)
    {
        // As Linux's do_poll: the first look also puts the thread's waiter on each socket's
        // watchers (until one is ready: then it will not sleep); it sleeps until an event on one
        // of them, looks again, and leaves every socket's watchers before it returns.
        long start = Stopwatch.GetTimestamp();
        PollWaiter? waiter = timeoutMilliseconds != 0 ? PollWaiter.ForCurrentThread : null;
        int watched = 0;
        try
        {
            while (true)
            {
                waiter?.Reset();
                int ready = 0;
                for (int i = 0; i < descriptors.Length; i++)
                {
                    ref PollDescriptor d = ref descriptors[i];
                    StackSocket socket = d.Socket;
                    using (StackCall call = socket._runner.Enter())
                    {
                        d.ReturnedEvents = socket.ReadinessUnderGate() & (d.Events | PollEvents.Error | PollEvents.HangUp | PollEvents.Invalid);
                        if (d.ReturnedEvents != PollEvents.None)
                        {
                            ready++;
                        }
                        else if (waiter is not null && ready == 0 && watched == i)
                        {
                            socket._watchers.Add(waiter);
                            watched++;
                        }
                    }
                }

                if (ready > 0 || waiter is null)
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

                waiter.Wait(remaining);
            }
        }
        finally
        {
            for (int i = 0; i < watched; i++)
            {
                StackSocket socket = descriptors[i].Socket;
                lock (socket.Gate)
                {
                    socket._watchers.Remove(waiter!);
                }
            }
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

    /// <summary>Under the gate: the socket's readiness, as Linux's tcp_poll / datagram_poll compute it.</summary>
    internal PollEvents ReadinessUnderGate()
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

        // Linux tcp_poll: room in the send buffer and, with TCP_NOTSENT_LOWAT, fewer than half the
        // mark's bytes unsent (tcp_stream_memory_free with wake = 1).
        bool room = c.SendSpace > 0 && (c.EffectiveNotSentLowWatermark == 0 || 2L * c.Unsent < c.EffectiveNotSentLowWatermark);
        if (_shutdownSend || c.State == TcpConnectionState.Closed || room && c.State is TcpConnectionState.Established or TcpConnectionState.CloseWait)
        {
            events |= PollEvents.Writable;
        }
        else
        {
            _sendSpaceWanted = true; // whoever looked wants to hear when room opens (tcp_poll sets SOCK_NOSPACE)
        }

        if (c.HasUrgentData)
        {
            events |= PollEvents.Priority;
        }

        return events;
    }
}
