namespace TunStack.Sockets;

/// <summary>
/// Something that wants to hear when a socket's readiness may have changed: a thread blocked in
/// <see cref="StackSocket.Poll(Span{PollDescriptor}, int)"/> (<see cref="PollWaiter"/>) or a
/// registration in a <see cref="PollSet"/> (<see cref="PollSetEntry"/>). A socket keeps a short
/// list of them (<see cref="ReadinessWatcherList"/>), so an event wakes only those watching it.
/// </summary>
internal abstract class ReadinessWatcher
{
    /// <summary>
    /// Under the socket's gate: the socket's readiness may have changed in the conditions of
    /// <paramref name="hint"/> (<see cref="PollEvents.Invalid"/>: the socket was closed). Must
    /// not call into the stack or change the socket's watcher list.
    /// </summary>
    public abstract void OnReadinessEvent(PollEvents hint);
}
