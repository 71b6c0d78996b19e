namespace TunStack.Sockets;

/// <summary>One socket that a <see cref="PollSet"/> wait found ready (epoll_event): the socket, its conditions, and the token it was registered with.</summary>
public readonly struct ReadySocket
{
    internal ReadySocket(StackSocket socket, PollEvents events, object? userToken)
    {
        Socket = socket;
        Events = events;
        UserToken = userToken;
    }

    /// <summary>The socket.</summary>
    public StackSocket Socket { get; }

    /// <summary>
    /// The registered conditions that hold, with <see cref="PollEvents.Error"/> and
    /// <see cref="PollEvents.HangUp"/> whether registered or not; <see cref="PollEvents.Invalid"/>
    /// alone when the socket was closed while registered (it is no longer in the set).
    /// </summary>
    public PollEvents Events { get; }

    /// <summary>The object given to <see cref="PollSet.Add"/> or <see cref="PollSet.Modify"/> (epoll_event's data).</summary>
    public object? UserToken { get; }
}
