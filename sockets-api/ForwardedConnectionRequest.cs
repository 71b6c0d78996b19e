using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;

namespace TunStack.Sockets;

/// <summary>
/// A TCP connection request to an address the stack does not own, as <see cref="StackHost.ForwardTcp"/>
/// hands it over: the client at <see cref="Source"/> wants <see cref="Destination"/>. Decide once, from
/// any thread: <see cref="AcceptAsync"/> completes the handshake from the original destination and
/// gives a connected <see cref="StackSocket"/>; <see cref="Reject"/> resets the client (ECONNREFUSED);
/// <see cref="RejectUnreachable"/> answers with ICMP host unreachable (EHOSTUNREACH); <see cref="Drop"/>
/// answers nothing. A forwarder usually dials the destination first and decides by the outcome, as
/// slirp4netns and gVisor's forwarders do, so the client sees the real destination's refusal.
/// </summary>
public sealed class ForwardedConnectionRequest
{
    private readonly StackHost _host;
    private readonly TcpForwardRequest _request;

    internal ForwardedConnectionRequest(StackHost host, TcpForwardRequest request)
    {
        _host = host;
        _request = request;
        Destination = new IPEndPoint(request.Destination.Address.ToIPAddress(), request.Destination.Port);
        Source = new IPEndPoint(request.Source.Address.ToIPAddress(), request.Source.Port);
    }

    /// <summary>The original destination: the accepted socket's local end.</summary>
    public IPEndPoint Destination { get; }

    /// <summary>The client: the accepted socket's remote end.</summary>
    public IPEndPoint Source { get; }

    /// <summary>
    /// Accepts and waits for the client's ACK: the socket returned is connected, its local end the
    /// original destination. Throws <see cref="SocketException"/>: ConnectionReset (the client reset),
    /// TimedOut (its ACK never came), NoBufferSpaceAvailable (the stack's connection limit),
    /// InvalidArgument (already decided); cancelling resets the client.
    /// </summary>
    public async ValueTask<StackSocket> AcceptAsync(CancellationToken cancellationToken = default)
    {
        StackSocket socket;
        using (StackCall call = _host.Runner.Enter())
        {
            if (!_request.IsPending)
            {
                throw SocketErrors.Exception(SocketError.InvalidArgument);
            }

            TcpConnection connection = _request.Accept() ?? throw SocketErrors.Exception(SocketError.NoBufferSpaceAvailable);
            socket = new StackSocket(_host, connection);
        }

        try
        {
            await socket.WaitForHandshakeAsync(cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Refuses with a reset, as a host with nothing listening (the client's connect fails with ECONNREFUSED). Does nothing once decided.</summary>
    public void Reject()
    {
        using StackCall call = _host.Runner.Enter();
        _request.Reject();
    }

    /// <summary>Refuses with ICMP destination unreachable (host; address for IPv6), as a router that cannot reach it. Does nothing once decided.</summary>
    public void RejectUnreachable()
    {
        using StackCall call = _host.Runner.Enter();
        _request.RejectUnreachable();
    }

    /// <summary>Answers nothing: the client retransmits until its connect times out. Does nothing once decided.</summary>
    public void Drop()
    {
        using StackCall call = _host.Runner.Enter();
        _request.Drop();
    }
}
