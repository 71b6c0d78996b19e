namespace TunStack.Lab;

/// <summary>
/// A flow while it runs: a client application on one host and a server application on another,
/// stepped by the engine at each instant something may have changed. Never blocks. Times are
/// microseconds of virtual time.
/// </summary>
internal abstract class LabFlow
{
    /// <summary>What the applications write: the lab moves zeros, only the amounts matter.</summary>
    protected static readonly byte[] Zeros = new byte[64 * 1024];

    /// <summary>Where the applications read into.</summary>
    protected static readonly byte[] Sink = new byte[64 * 1024];

    protected LabFlow(LabFlowSpec spec, LabHost client, LabHost server, long runEnd)
    {
        Spec = spec;
        Client = client;
        Server = server;
        StopAt = Math.Min(spec.StopMicros ?? runEnd, runEnd);
    }

    public LabFlowSpec Spec { get; }

    public LabHost Client { get; }

    public LabHost Server { get; }

    /// <summary>When the client stops starting new work.</summary>
    public long StopAt { get; }

    /// <summary>Bytes the applications received (both ways for request/response).</summary>
    public long Bytes { get; protected set; }

    /// <summary>
    /// Bytes the applications handed to their stacks and read, plus one for each connect and close:
    /// changes whenever they act, so the engine knows to poll their stacks.
    /// </summary>
    public long Progress { get; protected set; }

    /// <summary>When a finite flow finished (its last byte read), or null.</summary>
    public long? CompletedAt { get; protected set; }

    /// <summary>Why the flow broke off (a connection error), or null.</summary>
    public string? Failure { get; protected set; }

    /// <summary>The connection whose sending side the trace follows (TCP flows), once opened.</summary>
    public virtual Tcp.TcpConnection? TracedConnection => null;

    /// <summary>Does what the applications can do at <paramref name="now"/>; returns when they next want to act on their own.</summary>
    public abstract long Step(long now);
}
