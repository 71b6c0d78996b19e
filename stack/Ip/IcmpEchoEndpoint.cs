using TunStack.Storage;

namespace TunStack.Ip;

/// <summary>
/// Sends ICMP/ICMPv6 echo requests with one identifier and queues the matching replies (what
/// <c>ping</c> needs). Use it on the stack's owner thread; open one with <see cref="NetworkStack.OpenEcho(ushort)"/>.
/// </summary>
public sealed class IcmpEchoEndpoint
{
    private readonly IcmpLayer _icmp;
    private readonly DatagramQueue _replies;

    internal IcmpEchoEndpoint(IcmpLayer icmp, ushort identifier, int queueBytes)
    {
        _icmp = icmp;
        Identifier = identifier;
        _replies = new DatagramQueue(queueBytes);
    }

    /// <summary>The echo identifier this endpoint owns.</summary>
    public ushort Identifier { get; }

    /// <summary>Replies waiting.</summary>
    public int PendingReplies => _replies.Count;

    /// <summary>Called on the owner thread when a reply is queued.</summary>
    public Action? Readable { get; set; }

    /// <summary>Replies dropped because the queue was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>Sends an echo request (ICMPv4 or ICMPv6 by the destination's family).</summary>
    public StackError SendRequest(InternetAddress destination, ushort sequence, ReadOnlySpan<byte> data)
        => _icmp.SendEchoRequest(destination, Identifier, sequence, data);

    /// <summary>Takes the next reply: who answered, its sequence number, and its data (truncated to <paramref name="buffer"/>).</summary>
    public bool TryReceiveReply(Span<byte> buffer, out InternetAddress from, out ushort sequence, out int length)
    {
        bool ok = _replies.TryDequeue(buffer, out _, out length, out InternetEndpoint source);
        from = source.Address;
        sequence = source.Port;
        return ok;
    }

    /// <summary>Stops receiving replies.</summary>
    public void Close() => _icmp.CloseEcho(this);

    internal void Deliver(InternetEndpoint from, ReadOnlySpan<byte> data)
    {
        if (!_replies.TryEnqueue(from, data))
        {
            Dropped++;
            return;
        }

        Readable?.Invoke();
    }
}
