using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Sockets;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack forward --publish HOSTPORT:PORT[/udp]</c>: a listening socket of this process on
/// HOSTPORT whose connections (or datagrams) go into the namespace to its address and PORT through
/// the stack. The client's address is kept, so the service in the namespace sees who called; a
/// client on the host's loopback (which the namespace could not answer) appears as the gateway.
/// </summary>
public sealed class PortPublisher : IDisposable
{
    private readonly StackHost _host;
    private readonly ForwardStatistics _statistics;
    private readonly ConsoleLog _log;
    private readonly IPAddress _inside;
    private readonly IPAddress _gateway;
    private readonly List<Socket> _listeners = new();
    // UDP: the namespace's answers, by (the namespace's endpoint, the source it was sent from).
    private readonly Dictionary<(InternetEndpoint Inside, InternetEndpoint Source), (Socket Listener, EndPoint Client)> _udpClients = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeSpan _idleTimeout;

    /// <summary>Publishes into <paramref name="inside"/> (the namespace's address); loopback clients appear as <paramref name="gateway"/>.</summary>
    public PortPublisher(StackHost host, IPAddress inside, IPAddress gateway, ForwardStatistics statistics, ConsoleLog log, TimeSpan idleTimeout = default)
    {
        _idleTimeout = idleTimeout;
        _host = host;
        _inside = inside;
        _gateway = gateway;
        _statistics = statistics;
        _log = log;
    }

    /// <summary>Parses "HOSTPORT:PORT" or "HOSTPORT:PORT/udp"; null with <paramref name="problem"/> when it is not one.</summary>
    public static (int HostPort, int Port, bool Udp)? Parse(string text, out string? problem)
    {
        problem = null;
        string spec = text;
        bool udp = false;
        if (spec.EndsWith("/udp", StringComparison.OrdinalIgnoreCase))
        {
            udp = true;
            spec = spec[..^4];
        }
        else if (spec.EndsWith("/tcp", StringComparison.OrdinalIgnoreCase))
        {
            spec = spec[..^4];
        }

        string[] parts = spec.Split(':');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int hostPort) && hostPort is > 0 and < 65536
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536)
        {
            return (hostPort, port, udp);
        }

        problem = $"--publish: '{text}' is not HOSTPORT:PORT or HOSTPORT:PORT/udp (ports 1-65535)";
        return null;
    }

    /// <summary>Listens on <paramref name="hostPort"/> (all addresses of this process's namespace); throws SocketException when it is taken.</summary>
    public void Publish(int hostPort, int port, bool udp)
    {
        var socket = new Socket(AddressFamily.InterNetwork, udp ? SocketType.Dgram : SocketType.Stream, udp ? ProtocolType.Udp : ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, hostPort));
            if (!udp)
            {
                socket.Listen(512);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _listeners.Add(socket);
        var target = new IPEndPoint(_inside, port);
        _ = udp ? ReceiveDatagramsAsync(socket, target) : AcceptAsync(socket, target);
    }

    /// <summary>
    /// A datagram from the namespace (the UDP forwarder's first look): true, and sent from the published
    /// port to its client, when it answers a published flow.
    /// </summary>
    public bool TryAnswer(InternetEndpoint from, InternetEndpoint to, ReadOnlySpan<byte> payload)
    {
        (Socket Listener, EndPoint Client) client;
        lock (_udpClients)
        {
            if (!_udpClients.TryGetValue((from, to), out client))
            {
                return false;
            }
        }

        try
        {
            client.Listener.SendTo(payload, SocketFlags.None, client.Client);
            _statistics.AddReceived(payload.Length);
        }
        catch (SocketException)
        {
            // Lost, as UDP may be.
        }

        return true;
    }

    private async Task AcceptAsync(Socket listener, IPEndPoint target)
    {
        try
        {
            while (true)
            {
                Socket client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
                _ = RelayAsync(client, target);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }

    private async Task RelayAsync(Socket client, IPEndPoint target)
    {
        using (client)
        {
            var from = (IPEndPoint)client.RemoteEndPoint!;
            IPEndPoint source = SourceFor(from);
            StackSocket inside;
            try
            {
                inside = await _host.ConnectFromAsync(source, target).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                _log.Debug($"published tcp {from} -> {target}: {e.SocketErrorCode}");
                client.LingerState = new LingerOption(true, 0); // refused inside: reset outside
                return;
            }

            _statistics.TcpOpened();
            _log.Debug($"published tcp {from} -> {target} as {source}");
            await TcpRelay.PumpAsync(inside, client, _statistics, _idleTimeout).ConfigureAwait(false);
            _statistics.TcpClosed();
        }
    }

    private async Task ReceiveDatagramsAsync(Socket listener, IPEndPoint target)
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        var inside = new InternetEndpoint(InternetAddress.FromIPAddress(target.Address), (ushort)target.Port);
        try
        {
            while (true)
            {
                SocketReceiveFromResult result = await listener.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                var from = (IPEndPoint)result.RemoteEndPoint;
                IPEndPoint source = SourceFor(from);
                var sourceEndpoint = new InternetEndpoint(InternetAddress.FromIPAddress(source.Address), (ushort)source.Port);
                lock (_udpClients)
                {
                    _udpClients[(inside, sourceEndpoint)] = (listener, from);
                }

                try
                {
                    _host.SendUdp(source, target, buffer.AsSpan(0, result.ReceivedBytes));
                    _statistics.AddSent(result.ReceivedBytes);
                }
                catch (SocketException)
                {
                    // Not sendable into the namespace: lost, as UDP may be.
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }

    // The client's own endpoint, unless the namespace could not answer it (the host's loopback):
    // then the gateway with the client's port.
    private IPEndPoint SourceFor(IPEndPoint client)
    {
        IPAddress address = client.Address.IsIPv4MappedToIPv6 ? client.Address.MapToIPv4() : client.Address;
        return IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal ? new IPEndPoint(_gateway, client.Port) : new IPEndPoint(address, client.Port);
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listeners.ForEach(l => l.Dispose());
        _stop.Dispose();
    }
}
