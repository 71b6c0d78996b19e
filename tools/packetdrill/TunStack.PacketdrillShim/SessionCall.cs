namespace TunStack.PacketdrillShim;

/// <summary>
/// One call from packetdrill into the session, from entering to leaving: counted as inside while
/// it waits for the session's lock, holds the lock while it runs, and on leaving lets the calls
/// that are blocked on the virtual clock look at what it changed before the caller goes on.
/// </summary>
internal readonly ref struct SessionCall
{
    private readonly PacketdrillSession _session;

    public SessionCall(PacketdrillSession session)
    {
        _session = session;
        session.Arrive();
    }

    public void Dispose() => _session.Leave();
}
