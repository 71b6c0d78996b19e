namespace TunStack.Sockets;

/// <summary>
/// One socket's registration in one <see cref="PollSet"/> (epoll's epitem): what the set wants to
/// hear about, and the entry's place on the set's ready list. The interest (events, trigger,
/// token, one-shot and edge state) is read and written under the socket's gate, where the
/// socket's events arrive; the links are read and written under the set's lock. Lock order: gate, then set.
/// </summary>
internal sealed class PollSetEntry : ReadinessWatcher
{
    public PollSetEntry(PollSet set, StackSocket socket, PollEvents events, PollTrigger trigger, object? userToken)
    {
        Set = set;
        Socket = socket;
        Events = events;
        Trigger = trigger;
        UserToken = userToken;
    }

    public PollSet Set { get; }

    public StackSocket Socket { get; }

    // ---- under the socket's gate ----------------------------------------------------------

    /// <summary>The conditions registered (Error and HangUp are reported anyway).</summary>
    public PollEvents Events { get; set; }

    public PollTrigger Trigger { get; set; }

    public object? UserToken { get; set; }

    /// <summary>An event came since the entry was last looked at: what an edge-triggered entry reports.</summary>
    public bool Signalled { get; set; }

    /// <summary>A one-shot entry was reported: nothing more until <see cref="PollSet.Modify"/>.</summary>
    public bool Disabled { get; set; }

    /// <summary>The socket was closed: the next wait reports Invalid once and drops the entry.</summary>
    public bool Closed { get; set; }

    /// <summary>The entry left the socket's watchers (Remove, the set's Dispose, or Invalid reported).</summary>
    public bool Removed { get; set; }

    // ---- under the set's lock ---------------------------------------------------------------

    /// <summary>In the set (counted, on its list of registrations).</summary>
    public bool InSet { get; set; }

    public PollSetEntry? AllPrevious { get; set; }

    public PollSetEntry? AllNext { get; set; }

    public bool OnReadyList { get; set; }

    public PollSetEntry? ReadyPrevious { get; set; }

    /// <summary>The next entry on the ready list, or in a wait's batch while the entry is in transfer.</summary>
    public PollSetEntry? ReadyNext { get; set; }

    /// <summary>Taken off the ready list by a wait that is looking at it (outside the set's lock).</summary>
    public bool InTransfer { get; set; }

    /// <summary>An event came while the entry was in transfer: back on the ready list afterwards.</summary>
    public bool EventDuringTransfer { get; set; }

    // ---- owned by the wait that holds the entry in transfer ---------------------------------

    /// <summary>Level-triggered and still ready: back on the ready list after the wait.</summary>
    public bool RequeueAfterTransfer { get; set; }

    /// <summary>Reported as closed: leaves the set after the wait.</summary>
    public bool DropAfterTransfer { get; set; }

    /// <inheritdoc/>
    public override void OnReadinessEvent(PollEvents hint)
    {
        if (Removed)
        {
            return;
        }

        if ((hint & PollEvents.Invalid) != 0)
        {
            Closed = true;
        }
        else if (Disabled || (hint & (Events | PollSet.AlwaysReported)) == 0)
        {
            return;
        }

        Signalled = true;
        Set.Enqueue(this);
    }
}
