// ASP.NET Core's Kestrel over the stack: an IConnectionListenerFactory whose listeners are
// StackSockets. The listening sockets and the connections are in Internal/.
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using TunStack.Sockets.AspNetCore.Internal;

namespace TunStack.Sockets.AspNetCore;

/// <summary>
/// Kestrel's transport over a <see cref="StackHost"/>: each endpoint Kestrel binds becomes a
/// listening <see cref="StackSocket"/>, each accepted connection a <see cref="ConnectionContext"/>
/// whose pipes read and write the socket. Registered by <see cref="TunStackWebHostBuilderExtensions.UseTunStack"/>.
/// An <see cref="IPEndPoint"/> and an <see cref="H2cPriorKnowledgeEndPoint"/> for the same address
/// share one listening socket: a connection that opens with the HTTP/2 preface (seen with
/// MSG_PEEK) goes to the h2c endpoint, any other to the plain one.
/// </summary>
public sealed class StackConnectionListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly StackHost _host;
    private readonly Dictionary<IPEndPoint, SharedStackListener> _shared = new();

    /// <summary>A factory for listeners on <paramref name="host"/>.</summary>
    public StackConnectionListenerFactory(StackHost host) => _host = host ?? throw new ArgumentNullException(nameof(host));

    /// <summary>The backlog of each listener (listen(2)).</summary>
    public int Backlog { get; init; } = 512;

    /// <inheritdoc/>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or H2cPriorKnowledgeEndPoint;

    /// <inheritdoc/>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        (IPEndPoint ip, bool h2c) = endpoint switch
        {
            IPEndPoint plain => (plain, false),
            H2cPriorKnowledgeEndPoint prior => (prior.EndPoint, true),
            _ => throw new NotSupportedException($"TunStack listens on IP endpoints, not {endpoint}."),
        };

        lock (_shared)
        {
            if (!_shared.TryGetValue(ip, out SharedStackListener? shared) || shared.IsClosed)
            {
                shared = new SharedStackListener(Open(ip), this, ip);
                _shared[ip] = shared;
            }

            return new ValueTask<IConnectionListener>(shared.Branch(h2c, endpoint));
        }
    }

    /// <summary>Called by a shared listener whose last branch was unbound: the endpoint may be bound afresh.</summary>
    internal void Forget(IPEndPoint ip, SharedStackListener shared)
    {
        lock (_shared)
        {
            if (_shared.TryGetValue(ip, out SharedStackListener? current) && current == shared)
            {
                _shared.Remove(ip);
            }
        }
    }

    private StackSocket Open(IPEndPoint ip)
    {
        StackSocket socket = _host.CreateSocket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.NoDelay = true;
            socket.Bind(ip);
            socket.Listen(Backlog);
            return socket;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(e.Message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
