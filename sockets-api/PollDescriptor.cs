namespace TunStack.Sockets;

/// <summary>One entry of <see cref="StackSocket.Poll(Span{PollDescriptor}, int)"/>: a socket, what to wait for, what happened.</summary>
public struct PollDescriptor
{
    /// <summary>Creates an entry for <paramref name="socket"/> waiting for <paramref name="events"/>.</summary>
    public PollDescriptor(StackSocket socket, PollEvents events)
    {
        Socket = socket;
        Events = events;
        ReturnedEvents = PollEvents.None;
    }

    /// <summary>The socket.</summary>
    public StackSocket Socket { get; }

    /// <summary>The conditions asked for (Error, HangUp and Invalid are reported anyway).</summary>
    public PollEvents Events { get; set; }

    /// <summary>The conditions found (revents).</summary>
    public PollEvents ReturnedEvents { get; set; }
}
