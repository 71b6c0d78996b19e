// ASP.NET Core's Kestrel over the stack: an IConnectionListenerFactory whose listeners are
// StackSockets, and UseTunStack to put it in a web host.
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace TunStack.Sockets;

/// <summary>
/// Kestrel's transport over a <see cref="StackHost"/>: each endpoint Kestrel binds becomes a
/// listening <see cref="StackSocket"/>, each accepted connection a <see cref="ConnectionContext"/>
/// whose pipes read and write the socket. Registered by <see cref="TunStackWebHostBuilderExtensions.UseTunStack"/>.
/// </summary>
public sealed class StackConnectionListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly StackHost _host;

    /// <summary>A factory for listeners on <paramref name="host"/>.</summary>
    public StackConnectionListenerFactory(StackHost host) => _host = host ?? throw new ArgumentNullException(nameof(host));

    /// <summary>The backlog of each listener (listen(2)).</summary>
    public int Backlog { get; init; } = 512;

    /// <inheritdoc/>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <inheritdoc/>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"TunStack listens on IP endpoints, not {endpoint}.");
        }

        StackSocket socket = _host.CreateSocket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.NoDelay = true;
            socket.Bind(ip);
            socket.Listen(Backlog);
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

        return new ValueTask<IConnectionListener>(new StackConnectionListener(socket));
    }

    private sealed class StackConnectionListener : IConnectionListener
    {
        private readonly StackSocket _socket;
        private long _nextId;

        public StackConnectionListener(StackSocket socket)
        {
            _socket = socket;
            EndPoint = socket.LocalEndPoint!;
        }

        public EndPoint EndPoint { get; }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                StackSocket accepted = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
                accepted.NoDelay = true;
                return new StackConnectionContext(accepted, "tunstack-" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException || e is SocketException { SocketErrorCode: SocketError.OperationAborted })
            {
                return null; // unbound: Kestrel stops accepting
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class StackConnectionContext : ConnectionContext, IConnectionEndPointFeature, IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature
    {
        private readonly StackSocket _socket;
        private readonly StackDuplexPipe _pipe;
        private readonly CancellationTokenSource _closed = new();
        private int _disposed;

        public StackConnectionContext(StackSocket socket, string id)
        {
            _socket = socket;
            _pipe = new StackDuplexPipe(socket);
            ConnectionId = id;
            Transport = _pipe;
            LocalEndPoint = socket.LocalEndPoint;
            RemoteEndPoint = socket.RemoteEndPoint;
            Features.Set<IConnectionEndPointFeature>(this);
            Features.Set<IConnectionIdFeature>(this);
            Features.Set<IConnectionTransportFeature>(this);
            Features.Set<IConnectionItemsFeature>(this);
            Features.Set<IConnectionLifetimeFeature>(this);
            ConnectionClosed = _closed.Token;
        }

        public override string ConnectionId { get; set; }

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

        public override IDuplexPipe Transport { get; set; }

        public override EndPoint? LocalEndPoint { get; set; }

        public override EndPoint? RemoteEndPoint { get; set; }

        public override CancellationToken ConnectionClosed { get; set; }

        // Abort resets the connection (linger 0), as Kestrel's socket transport does.
        public override void Abort(ConnectionAbortedException abortReason)
        {
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Dispose();
            Close();
        }

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                await base.DisposeAsync().ConfigureAwait(false);
                return;
            }

            await _pipe.DisposeAsync().ConfigureAwait(false);
            Close();
            _closed.Dispose();
            await base.DisposeAsync().ConfigureAwait(false);
        }

        private void Close()
        {
            try
            {
                _closed.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed already.
            }
        }
    }
}

/// <summary>Puts Kestrel on a TunStack stack.</summary>
public static class TunStackWebHostBuilderExtensions
{
    /// <summary>
    /// Makes Kestrel serve through <paramref name="host"/> instead of the kernel's sockets: every
    /// endpoint Kestrel listens on (<c>options.ListenAnyIP(80)</c>, <c>UseUrls("http://*:80")</c>)
    /// becomes a listener on the user-space stack. HTTP/1.1 and HTTP/2 (h2c with prior knowledge,
    /// on endpoints whose Protocols include Http2) both work.
    /// </summary>
    public static IWebHostBuilder UseTunStack(this IWebHostBuilder builder, StackHost host)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(host);
        return builder.ConfigureServices(services => services.AddSingleton<IConnectionListenerFactory>(new StackConnectionListenerFactory(host)));
    }
}
