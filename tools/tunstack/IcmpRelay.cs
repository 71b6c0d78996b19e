using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Sockets;

namespace TunStack.Cli;

/// <summary>
/// Ping from the namespace to anywhere for <c>tunstack forward</c>: each echo request to a foreign
/// address is sent again from this process, and the matching reply goes back into the namespace
/// from the original destination with the client's identifier. With CAP_NET_RAW it goes through a
/// raw ICMP socket with an identifier of the relay's own; without it, through unprivileged ICMP
/// ("ping") sockets, one per flow, where net.ipv4.ping_group_range admits this process's group
/// (the kernel then picks the identifier). Mappings end after a minute unused.
/// </summary>
public sealed class IcmpRelay : IDisposable
{
    private static readonly TimeSpan s_idle = TimeSpan.FromSeconds(60);
    private readonly StackHost _host;
    private readonly DestinationMap _map;
    private readonly Socket? _v4;
    private readonly Socket? _v6;
    private readonly Dictionary<(IPAddress Client, IPAddress Destination, ushort Identifier), PingFlow> _pingFlows = new();
    private readonly Dictionary<ushort, Mapping> _byIdentifier = new();
    private readonly Dictionary<(IPAddress Client, IPAddress Destination, ushort Identifier), ushort> _identifiers = new();
    private readonly CancellationTokenSource _stop = new();
    private ushort _next = (ushort)Random.Shared.Next(1, 65536);
    private long _relayed;
    private long _answered;

    // v4 null: unprivileged ping sockets, one per flow.
    private IcmpRelay(StackHost host, DestinationMap map, Socket? v4, Socket? v6)
    {
        _host = host;
        _map = map;
        _v4 = v4;
        _v6 = v6;
        if (v4 is not null)
        {
            _ = ReceiveAsync(v4, v6: false);
        }

        if (v6 is not null)
        {
            _ = ReceiveAsync(v6, v6: true);
        }
    }

    /// <summary>"raw ICMP sockets" or "unprivileged ping sockets", for the log.</summary>
    public string Kind => _v4 is null ? "unprivileged ping sockets" : "raw ICMP sockets";

    /// <summary>Requests relayed so far.</summary>
    public long Relayed => Interlocked.Read(ref _relayed);

    /// <summary>Replies delivered into the namespace so far.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>
    /// Opens raw ICMP sockets, or failing that (no CAP_NET_RAW; or TUNSTACK_PING_SOCKETS=1, for tests)
    /// checks that unprivileged ping sockets may be made; null with <paramref name="why"/> when neither.
    /// </summary>
    public static IcmpRelay? TryOpen(StackHost host, DestinationMap map, out string? why)
    {
        why = null;
        Socket v4;
        try
        {
            if (Environment.GetEnvironmentVariable("TUNSTACK_PING_SOCKETS") == "1")
            {
                throw new SocketException((int)SocketError.AccessDenied);
            }

            v4 = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
            v4.Bind(new IPEndPoint(IPAddress.Any, 0)); // .NET receives from a connectionless socket only once bound
        }
        catch (SocketException raw)
        {
            try
            {
                using var ping = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Icmp);
                return new IcmpRelay(host, map, null, null);
            }
            catch (SocketException e)
            {
                why = $"a raw ICMP socket was refused ({raw.SocketErrorCode}; it needs CAP_NET_RAW) and so was an unprivileged one ({e.SocketErrorCode}; net.ipv4.ping_group_range must include this process's group)";
                return null;
            }
        }

        Socket? v6 = null;
        try
        {
            v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6);
            v6.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        }
        catch (SocketException)
        {
            // No IPv6 here: IPv4 ping is still relayed.
        }

        return new IcmpRelay(host, map, v4, v6);
    }

    /// <summary>An echo request from the namespace (on the stack's thread).</summary>
    public void OnEchoRequest(InternetAddress source, InternetAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        IPAddress to = destination.ToIPAddress();
        if (_map.Map(new IPEndPoint(to, 0), out _) is null || (destination.IsV6 && _v4 is not null && _v6 is null))
        {
            return; // loopback, link-local or group destinations, as for TCP and UDP: no answer
        }

        if (_v4 is null)
        {
            SendThroughPingSocket(source.ToIPAddress(), to, identifier, sequence, data);
            return;
        }

        ushort ours;
        lock (_byIdentifier)
        {
            var key = (source.ToIPAddress(), to, identifier);
            if (!_identifiers.TryGetValue(key, out ours))
            {
                ours = TakeIdentifier();
                _identifiers[key] = ours;
            }

            _byIdentifier[ours] = new Mapping(key.Item1, to, identifier, Environment.TickCount64);
        }

        Span<byte> request = stackalloc byte[8 + data.Length];
        request[..4].Clear(); // code and checksum start at zero
        request[0] = destination.IsV6 ? (byte)128 : (byte)8;
        BinaryPrimitives.WriteUInt16BigEndian(request[4..], ours);
        BinaryPrimitives.WriteUInt16BigEndian(request[6..], sequence);
        data.CopyTo(request[8..]);
        if (!destination.IsV6)
        {
            BinaryPrimitives.WriteUInt16BigEndian(request[2..], Checksum(request)); // the kernel sums ICMPv6 itself
        }

        try
        {
            (destination.IsV6 ? _v6! : _v4!).SendTo(request, new IPEndPoint(to, 0));
            Interlocked.Increment(ref _relayed);
        }
        catch (SocketException)
        {
            // No route from here: the namespace's ping sees no answer, as behind a router that dropped it.
        }
    }

    // Unprivileged ICMP: a socket per flow, which the kernel gives an identifier of its own (and
    // sums); replies to it are this flow's.
    private void SendThroughPingSocket(IPAddress client, IPAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        bool v6 = destination.AddressFamily == AddressFamily.InterNetworkV6;
        PingFlow? flow;
        lock (_pingFlows)
        {
            if (!_pingFlows.TryGetValue((client, destination, identifier), out flow))
            {
                long now = Environment.TickCount64;
                foreach (var idle in _pingFlows.Where(p => now - p.Value.LastUsed > (long)s_idle.TotalMilliseconds).ToList())
                {
                    _pingFlows.Remove(idle.Key);
                    idle.Value.Socket.Dispose();
                }

                Socket socket;
                try
                {
                    socket = new Socket(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Dgram, v6 ? ProtocolType.IcmpV6 : ProtocolType.Icmp);
                    socket.Bind(new IPEndPoint(v6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
                }
                catch (SocketException)
                {
                    return; // out of sockets, or ICMPv6 not admitted: no answer, as a router that dropped it
                }

                flow = new PingFlow(socket, client, destination, identifier);
                _pingFlows[(client, destination, identifier)] = flow;
                _ = ReceivePingAsync(flow);
            }

            flow.LastUsed = Environment.TickCount64;
        }

        Span<byte> request = stackalloc byte[8 + data.Length];
        request[..8].Clear();
        request[0] = v6 ? (byte)128 : (byte)8;
        BinaryPrimitives.WriteUInt16BigEndian(request[6..], sequence);
        data.CopyTo(request[8..]);
        try
        {
            flow.Socket.SendTo(request, new IPEndPoint(destination, 0));
            Interlocked.Increment(ref _relayed);
        }
        catch (SocketException)
        {
            // No route from here: no answer.
        }
    }

    private async Task ReceivePingAsync(PingFlow flow)
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(flow.Destination.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (true)
            {
                SocketReceiveFromResult result = await flow.Socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                ReadOnlySpan<byte> message = buffer.AsSpan(0, result.ReceivedBytes);
                if (message.Length < 8 || message[0] is not (0 or 129))
                {
                    continue;
                }

                if (_host.SendEchoReply(flow.Destination, flow.Client, flow.ClientIdentifier, BinaryPrimitives.ReadUInt16BigEndian(message[6..]), message[8..]))
                {
                    Interlocked.Increment(ref _answered);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The flow ended, or the relay stopped.
        }
    }

    private ushort TakeIdentifier()
    {
        long now = Environment.TickCount64;
        foreach ((ushort id, Mapping m) in _byIdentifier.Where(p => now - p.Value.LastUsed > (long)s_idle.TotalMilliseconds).ToList())
        {
            _byIdentifier.Remove(id);
            _identifiers.Remove((m.Client, m.Destination, m.ClientIdentifier));
        }

        do
        {
            _next = (ushort)(_next == ushort.MaxValue ? 1 : _next + 1);
        }
        while (_byIdentifier.ContainsKey(_next));
        return _next;
    }

    // Replies (a raw socket sees every ICMP message of the namespace; only ours are taken).
    private async Task ReceiveAsync(Socket socket, bool v6)
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(v6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (true)
            {
                SocketReceiveFromResult result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                ReadOnlySpan<byte> message = buffer.AsSpan(0, result.ReceivedBytes);
                if (!v6)
                {
                    int headerLength = message.Length > 0 ? (message[0] & 0xF) * 4 : 0;
                    message = message.Length >= headerLength ? message[headerLength..] : ReadOnlySpan<byte>.Empty;
                }

                if (message.Length < 8 || message[0] != (v6 ? 129 : 0))
                {
                    continue;
                }

                ushort ours = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
                Mapping mapping;
                lock (_byIdentifier)
                {
                    if (!_byIdentifier.TryGetValue(ours, out mapping))
                    {
                        continue;
                    }
                }

                var from = ((IPEndPoint)result.RemoteEndPoint).Address;
                if (!from.Equals(mapping.Destination))
                {
                    continue;
                }

                if (_host.SendEchoReply(mapping.Destination, mapping.Client, mapping.ClientIdentifier, BinaryPrimitives.ReadUInt16BigEndian(message[6..]), message[8..]))
                {
                    Interlocked.Increment(ref _answered);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }

    // RFC 1071: the ones' complement of the ones' complement sum of 16-bit words.
    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if ((data.Length & 1) != 0)
        {
            sum += (uint)data[^1] << 8;
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>Closes the sockets.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _v4?.Dispose();
        _v6?.Dispose();
        lock (_pingFlows)
        {
            foreach (PingFlow flow in _pingFlows.Values)
            {
                flow.Socket.Dispose();
            }

            _pingFlows.Clear();
        }

        _stop.Dispose();
    }

    private readonly record struct Mapping(IPAddress Client, IPAddress Destination, ushort ClientIdentifier, long LastUsed);

    private sealed record PingFlow(Socket Socket, IPAddress Client, IPAddress Destination, ushort ClientIdentifier)
    {
        public long LastUsed { get; set; } = Environment.TickCount64;
    }
}
