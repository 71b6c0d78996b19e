using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Ports;
using TunStack.Storage;

namespace TunStack.Udp;

/// <summary>
/// A UDP endpoint: the core's datagram socket, which the sockets facade wraps. Use it only on the
/// stack's owner thread. An InterNetworkV6 endpoint is dual-stack (also takes IPv4) unless
/// <see cref="V6Only"/> is set; IPv4 peers are then reported as IPv4 addresses.
/// </summary>
public sealed class UdpEndpoint
{
    private readonly UdpLayer _layer;
    private readonly DatagramQueue _queue;
    private StackError _pendingError;
    private bool _v6Only;

    internal UdpEndpoint(UdpLayer layer, AddressFamily family, int queueBytes)
    {
        _layer = layer;
        Family = family;
        _queue = new DatagramQueue(queueBytes);
    }

    /// <summary>InterNetwork or InterNetworkV6.</summary>
    public AddressFamily Family { get; }

    /// <summary>For an InterNetworkV6 endpoint: refuse IPv4 traffic (IPV6_V6ONLY). Set before binding.</summary>
    public bool V6Only
    {
        get => _v6Only;
        set
        {
            IpFamilies before = Families;
            _v6Only = value;
            if (Families != before)
            {
                // Set after binding anyway: the endpoint's port claim covers what it now accepts.
                _layer.FamiliesChanged(this, before);
            }
        }
    }

    /// <summary>The bound address and port, or null before binding.</summary>
    public InternetEndpoint? LocalEndpoint { get; internal set; }

    /// <summary>The default peer set by <see cref="Connect"/>, or null.</summary>
    public InternetEndpoint? RemoteEndpoint { get; private set; }

    /// <summary>True after <see cref="Close"/>.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>Datagrams waiting.</summary>
    public int QueuedDatagrams => _queue.Count;

    /// <summary>Bytes the waiting datagrams take in the receive queue, with a record of 24 bytes each (Recv-Q in <c>ss</c>).</summary>
    public int QueuedBytes => _queue.BytesUsed;

    /// <summary>Size of the receive queue in bytes (SO_RCVBUF).</summary>
    public int ReceiveQueueSize => _queue.CapacityBytes;

    /// <summary>Length of the next datagram, or -1 when none is waiting.</summary>
    public int NextDatagramLength => _queue.NextLength;

    /// <summary>Called on the owner thread when a datagram is queued (for waking readers).</summary>
    public Action? Readable { get; set; }

    /// <summary>Called on the owner thread when an ICMP error is recorded.</summary>
    public Action? ErrorRaised { get; set; }

    /// <summary>True when an ICMP error is waiting to be reported.</summary>
    public bool HasPendingError => _pendingError != StackError.None;

    /// <summary>
    /// Binds to a local address (unspecified = every address of the family) and port (0 = an
    /// ephemeral port). Errors: AddressNotAvailable (not our address, or no ephemeral port left),
    /// AddressInUse, InvalidArgument (already bound), AddressFamilyNotSupported.
    /// </summary>
    public StackError Bind(InternetEndpoint local)
    {
        if (IsClosed)
        {
            return StackError.Closed;
        }

        if (LocalEndpoint is not null)
        {
            return StackError.InvalidArgument;
        }

        if (!AcceptsFamily(local.Address))
        {
            return StackError.AddressFamilyNotSupported;
        }

        return _layer.Bind(this, local);
    }

    /// <summary>
    /// Sets the default peer and filters incoming datagrams to it; binds an ephemeral port first if
    /// needed. Connecting again changes the peer.
    /// </summary>
    public StackError Connect(InternetEndpoint remote)
    {
        if (!AcceptsFamily(remote.Address))
        {
            return StackError.AddressFamilyNotSupported;
        }

        StackError error = EnsureBound();
        if (error != StackError.None)
        {
            return error;
        }

        RemoteEndpoint = remote;
        _pendingError = StackError.None;
        return StackError.None;
    }

    /// <summary>Dissolves the association (connect to AF_UNSPEC).</summary>
    public void Disconnect() => RemoteEndpoint = null;

    /// <summary>
    /// Sends a datagram to <paramref name="remote"/>, or to the connected peer when null.
    /// Errors: DestinationAddressRequired, MessageTooLong (over 65,507 bytes on IPv4),
    /// NetworkUnreachable, and a pending ICMP error on a connected endpoint (reported once).
    /// </summary>
    public StackError SendTo(ReadOnlySpan<byte> payload, InternetEndpoint? remote = null)
    {
        if (IsClosed)
        {
            return StackError.Closed;
        }

        InternetEndpoint? target = remote ?? RemoteEndpoint;
        if (target is null)
        {
            return StackError.DestinationAddressRequired;
        }

        if (!AcceptsFamily(target.Value.Address))
        {
            return StackError.AddressFamilyNotSupported;
        }

        if (RemoteEndpoint is not null && TakePendingError() is var pending && pending != StackError.None)
        {
            return pending;
        }

        StackError error = EnsureBound();
        return error != StackError.None ? error : _layer.Send(this, target.Value, payload);
    }

    /// <summary>
    /// Takes (or with <paramref name="peek"/> only reads) the next datagram: up to
    /// <paramref name="buffer"/>.Length bytes are copied; <paramref name="datagramLength"/> is the
    /// full length, so a truncation shows as datagramLength &gt; copied. False when none is waiting.
    /// </summary>
    public bool TryReceiveFrom(Span<byte> buffer, out int copied, out int datagramLength, out InternetEndpoint from, bool peek = false)
        => _queue.TryDequeue(buffer, out copied, out datagramLength, out from, peek);

    /// <summary>Returns and clears the pending ICMP error (SO_ERROR), or None.</summary>
    public StackError TakePendingError()
    {
        StackError e = _pendingError;
        _pendingError = StackError.None;
        return e;
    }

    /// <summary>Unbinds and drops queued datagrams.</summary>
    public void Close()
    {
        if (IsClosed)
        {
            return;
        }

        IsClosed = true;
        _layer.Unbind(this);
        _queue.Clear();
    }

    internal bool Enqueue(InternetEndpoint from, ReadOnlySpan<byte> payload)
    {
        if (!_queue.TryEnqueue(from, payload))
        {
            return false;
        }

        Readable?.Invoke();
        return true;
    }

    internal void SetPendingError(StackError error)
    {
        _pendingError = error;
        ErrorRaised?.Invoke();
    }

    internal bool AcceptsFamily(InternetAddress address)
        => Family == AddressFamily.InterNetworkV6 ? address.IsV6 || !V6Only : address.IsV4;

    /// <summary>The families the endpoint takes traffic of, which its port claim covers.</summary>
    internal IpFamilies Families
        => Family == AddressFamily.InterNetworkV6 ? (V6Only ? IpFamilies.V6 : IpFamilies.Both) : IpFamilies.V4;

    private StackError EnsureBound()
    {
        if (LocalEndpoint is not null)
        {
            return StackError.None;
        }

        InternetAddress any = Family == AddressFamily.InterNetworkV6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4;
        return _layer.Bind(this, new InternetEndpoint(any, 0));
    }
}
