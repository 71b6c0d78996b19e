using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace TunStack.Cli;

/// <summary>
/// A SOCKS5 proxy that <c>tunstack forward --upstream socks5://HOST:PORT</c> sends the namespace's
/// traffic through instead of its own sockets: TCP with CONNECT, UDP with UDP ASSOCIATE (RFC 1928),
/// "no authentication required" as the only method.
/// </summary>
public sealed class Socks5Upstream
{
    private const byte Version = 5;
    private const byte NoAuthentication = 0;
    private const byte Connect = 1;
    private const byte UdpAssociate = 3;
    private const byte Ipv4 = 1;
    private const byte Ipv6 = 4;

    private Socks5Upstream(IPEndPoint proxy) => Proxy = proxy;

    /// <summary>The proxy's address.</summary>
    public IPEndPoint Proxy { get; }

    /// <summary>Parses "socks5://ADDRESS:PORT" (an IP address: nothing is resolved); null with <paramref name="problem"/>.</summary>
    public static Socks5Upstream? Parse(string text, out string? problem)
    {
        problem = null;
        const string Scheme = "socks5://";
        if (text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) && IPEndPoint.TryParse(text[Scheme.Length..].TrimEnd('/'), out IPEndPoint? proxy) && proxy.Port != 0)
        {
            return new Socks5Upstream(proxy);
        }

        problem = $"--upstream: '{text}' is not socks5://ADDRESS:PORT (an IP address and a port, such as socks5://127.0.0.1:1080)";
        return null;
    }

    /// <summary>
    /// CONNECT to <paramref name="target"/> through the proxy: the connected socket, or null with what the
    /// proxy answered (RFC 1928 6: 5 refused is ConnectionRefused, 3 and 4 unreachable, the rest a failure).
    /// </summary>
    public async Task<(Socket? Socket, SocketError Why)> ConnectAsync(IPEndPoint target, CancellationToken cancellationToken)
    {
        var socket = new Socket(Proxy.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(Proxy, cancellationToken).ConfigureAwait(false);
            (byte reply, _) = await RequestAsync(socket, Connect, target, cancellationToken).ConfigureAwait(false);
            if (reply == 0)
            {
                return (socket, SocketError.Success);
            }

            socket.Dispose();
            return (null, reply switch
            {
                5 => SocketError.ConnectionRefused,
                3 => SocketError.NetworkUnreachable,
                4 => SocketError.HostUnreachable,
                6 => SocketError.TimedOut,
                _ => SocketError.HostUnreachable,
            });
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            socket.Dispose();
            return (null, SocketError.HostUnreachable); // the proxy itself cannot be had: nothing is reachable
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// UDP ASSOCIATE: the control connection (the association lives as long as it), and a UDP socket
    /// connected to the proxy's relay. Send with <see cref="Wrap"/>, read with <see cref="Unwrap"/>.
    /// </summary>
    public async Task<(Socket Control, Socket Relay)> AssociateAsync(CancellationToken cancellationToken)
    {
        var control = new Socket(Proxy.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await control.ConnectAsync(Proxy, cancellationToken).ConfigureAwait(false);
            var relay = new Socket(Proxy.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            relay.Bind(new IPEndPoint(Proxy.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            (byte reply, IPEndPoint bound) = await RequestAsync(control, UdpAssociate, new IPEndPoint(IPAddress.Any, 0), cancellationToken).ConfigureAwait(false);
            if (reply != 0)
            {
                relay.Dispose();
                throw new SocketException((int)SocketError.ConnectionRefused);
            }

            // RFC 1928 6: an unspecified BND.ADDR means the proxy's own address.
            relay.Connect(bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(Proxy.Address, bound.Port) : bound);
            return (control, relay);
        }
        catch
        {
            control.Dispose();
            throw;
        }
    }

    /// <summary>RFC 1928 7: a datagram for the relay, the destination's header first.</summary>
    public static int Wrap(IPEndPoint destination, ReadOnlySpan<byte> payload, Span<byte> into)
    {
        into[..3].Clear(); // RSV, RSV, FRAG 0 (no fragmentation)
        int n = 3 + WriteAddress(destination, into[3..]);
        payload.CopyTo(into[n..]);
        return n + payload.Length;
    }

    /// <summary>RFC 1928 7: the payload of a datagram from the relay, and who sent it; false for a fragment or a malformed header.</summary>
    public static bool Unwrap(ReadOnlySpan<byte> datagram, out IPEndPoint? from, out ReadOnlySpan<byte> payload)
    {
        from = null;
        payload = default;
        if (datagram.Length < 4 || datagram[2] != 0)
        {
            return false;
        }

        int length = datagram[3] switch { Ipv4 => 4, Ipv6 => 16, _ => -1 };
        if (length < 0 || datagram.Length < 4 + length + 2)
        {
            return false;
        }

        from = new IPEndPoint(new IPAddress(datagram.Slice(4, length)), BinaryPrimitives.ReadUInt16BigEndian(datagram[(4 + length)..]));
        payload = datagram[(4 + length + 2)..];
        return true;
    }

    // The method negotiation (no authentication), then one request; returns REP and BND.ADDR/BND.PORT.
    private static async Task<(byte Reply, IPEndPoint Bound)> RequestAsync(Socket socket, byte command, IPEndPoint target, CancellationToken cancellationToken)
    {
        await socket.SendAsync(new byte[] { Version, 1, NoAuthentication }, cancellationToken).ConfigureAwait(false);
        byte[] choice = await ReadExactlyAsync(socket, 2, cancellationToken).ConfigureAwait(false);
        if (choice[0] != Version || choice[1] != NoAuthentication)
        {
            throw new IOException("the SOCKS5 proxy wants authentication");
        }

        byte[] request = new byte[3 + 1 + 16 + 2];
        request[0] = Version;
        request[1] = command;
        int n = 3 + WriteAddress(target, request.AsSpan(3));
        await socket.SendAsync(request.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        byte[] head = await ReadExactlyAsync(socket, 4, cancellationToken).ConfigureAwait(false);
        int length = head[3] switch
        {
            Ipv4 => 4,
            Ipv6 => 16,
            3 => (await ReadExactlyAsync(socket, 1, cancellationToken).ConfigureAwait(false))[0],
            _ => throw new IOException("a malformed SOCKS5 reply"),
        };
        byte[] rest = await ReadExactlyAsync(socket, length + 2, cancellationToken).ConfigureAwait(false);
        var bound = head[3] is Ipv4 or Ipv6
            ? new IPEndPoint(new IPAddress(rest.AsSpan(0, length)), BinaryPrimitives.ReadUInt16BigEndian(rest.AsSpan(length)))
            : new IPEndPoint(IPAddress.Any, 0);
        return (head[1], bound);
    }

    private static int WriteAddress(IPEndPoint endpoint, Span<byte> into)
    {
        IPAddress address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        into[0] = v6 ? Ipv6 : Ipv4;
        address.TryWriteBytes(into[1..], out int written);
        BinaryPrimitives.WriteUInt16BigEndian(into[(1 + written)..], (ushort)endpoint.Port);
        return 1 + written + 2;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[count];
        for (int read = 0; read < count;)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("the SOCKS5 proxy closed the connection");
            }

            read += n;
        }

        return buffer;
    }
}
