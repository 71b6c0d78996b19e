// ASP.NET Core's Kestrel over the stack: an IConnectionListenerFactory whose listeners are
// StackSockets, and UseTunStack to put it in a web host.
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace TunStack.Sockets;

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
    private readonly Dictionary<IPEndPoint, SharedListener> _shared = new();

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
            if (!_shared.TryGetValue(ip, out SharedListener? shared) || shared.IsClosed)
            {
                shared = new SharedListener(Open(ip), this, ip);
                _shared[ip] = shared;
            }

            return new ValueTask<IConnectionListener>(shared.Branch(h2c, endpoint));
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

    private void Forget(IPEndPoint ip, SharedListener shared)
    {
        lock (_shared)
        {
            if (_shared.TryGetValue(ip, out SharedListener? current) && current == shared)
            {
                _shared.Remove(ip);
            }
        }
    }

    // One listening socket and up to two Kestrel listeners on it (plain and h2c).
    private sealed class SharedListener
    {
        private static readonly byte[] s_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
        private readonly StackSocket _socket;
        private readonly StackConnectionListenerFactory _factory;
        private readonly IPEndPoint _key;
        private Branch? _plain;
        private Branch? _h2c;
        private Task? _acceptLoop;
        private long _nextId;

        public SharedListener(StackSocket socket, StackConnectionListenerFactory factory, IPEndPoint key)
        {
            _socket = socket;
            _factory = factory;
            _key = key;
        }

        public bool IsClosed { get; private set; }

        public IConnectionListener Branch(bool h2c, EndPoint requested)
        {
            EndPoint local = _socket.LocalEndPoint!;
            var branch = new Branch(this, h2c ? new H2cPriorKnowledgeEndPoint((IPEndPoint)local) : local);
            if (h2c ? _h2c is not null : _plain is not null)
            {
                throw new AddressInUseException($"{requested} is already bound on the stack.");
            }

            if (h2c)
            {
                _h2c = branch;
            }
            else
            {
                _plain = branch;
            }

            _acceptLoop ??= Task.Run(AcceptLoop);
            return branch;
        }

        private async Task AcceptLoop()
        {
            while (true)
            {
                StackSocket accepted;
                try
                {
                    accepted = await _socket.AcceptAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is ObjectDisposedException || e is SocketException { SocketErrorCode: SocketError.OperationAborted })
                {
                    return;
                }

                accepted.NoDelay = true;
                _ = Dispatch(accepted);
            }
        }

        // Without an h2c branch every connection is plain; with one, peek at the first bytes.
        private async Task Dispatch(StackSocket accepted)
        {
            Branch? target = _plain ?? _h2c;
            if (_h2c is not null && _plain is not null)
            {
                try
                {
                    target = await OpensWithPreface(accepted).ConfigureAwait(false) ? _h2c : _plain;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    accepted.Dispose();
                    return;
                }
            }

            string id = "tunstack-" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (target is null || !target.Offer(new StackConnectionContext(accepted, id)))
            {
                accepted.Dispose();
            }
        }

        private static async Task<bool> OpensWithPreface(StackSocket socket)
        {
            var peek = new byte[s_preface.Length];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (true)
            {
                int n = await socket.ReceiveAsync(peek, SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
                if (n == 0 || !peek.AsSpan(0, n).SequenceEqual(s_preface.AsSpan(0, n)))
                {
                    return false;
                }

                if (n == s_preface.Length)
                {
                    return true;
                }

                await Task.Delay(1, timeout.Token).ConfigureAwait(false); // a partial preface: look again
            }
        }

        public void Remove(Branch branch)
        {
            lock (this)
            {
                if (_plain == branch)
                {
                    _plain = null;
                }

                if (_h2c == branch)
                {
                    _h2c = null;
                }

                if (_plain is null && _h2c is null && !IsClosed)
                {
                    IsClosed = true;
                    _factory.Forget(_key, this);
                    _socket.Dispose();
                }
            }
        }
    }

    private sealed class Branch : IConnectionListener
    {
        private readonly SharedListener _owner;
        private readonly System.Threading.Channels.Channel<ConnectionContext> _ready = System.Threading.Channels.Channel.CreateBounded<ConnectionContext>(1024);

        public Branch(SharedListener owner, EndPoint endPoint)
        {
            _owner = owner;
            EndPoint = endPoint;
        }

        public EndPoint EndPoint { get; }

        public bool Offer(ConnectionContext connection) => _ready.Writer.TryWrite(connection);

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Threading.Channels.ChannelClosedException or OperationCanceledException)
            {
                return null; // unbound: Kestrel stops accepting
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _ready.Writer.TryComplete();
            _owner.Remove(this);
            return ValueTask.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            await UnbindAsync().ConfigureAwait(false);
            while (_ready.Reader.TryRead(out ConnectionContext? left))
            {
                await left.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed class StackConnectionContext : ConnectionContext, IConnectionEndPointFeature, IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature
    {
        private readonly StackDuplexPipe _pipe;
        private readonly CancellationTokenSource _closed = new();
        private int _disposed;

        public StackConnectionContext(StackSocket socket, string id)
        {
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
            _pipe.Abort();
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

/// <summary>
/// The h2c ("HTTP/2 with prior knowledge") side of an IP endpoint on the stack. Kestrel serves
/// cleartext HTTP/2 only on an endpoint whose Protocols are Http2, so
/// <see cref="TunStackWebHostBuilderExtensions.ListenTunStack"/> binds the plain endpoint for
/// HTTP/1.1 and this one for HTTP/2; both share the port (the transport routes by the preface).
/// </summary>
public sealed class H2cPriorKnowledgeEndPoint : EndPoint
{
    /// <summary>The h2c side of <paramref name="endPoint"/>.</summary>
    public H2cPriorKnowledgeEndPoint(IPEndPoint endPoint) => EndPoint = endPoint ?? throw new ArgumentNullException(nameof(endPoint));

    /// <summary>The shared IP endpoint.</summary>
    public IPEndPoint EndPoint { get; }

    /// <inheritdoc/>
    public override AddressFamily AddressFamily => EndPoint.AddressFamily;

    /// <inheritdoc/>
    public override string ToString() => $"h2c://{EndPoint}";
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

    /// <summary>
    /// Listens on <paramref name="endPoint"/> of the stack for HTTP/1.1 and, on the same port,
    /// HTTP/2 with prior knowledge (h2c): <c>curl http://addr/</c> and
    /// <c>curl --http2-prior-knowledge http://addr/</c> both work. Needs <see cref="UseTunStack"/>.
    /// </summary>
    public static void ListenTunStack(this KestrelServerOptions options, IPEndPoint endPoint, Action<ListenOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endPoint);
        options.Listen(endPoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            configure?.Invoke(listen);
        });
        options.Listen(new H2cPriorKnowledgeEndPoint(endPoint), listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            configure?.Invoke(listen);
        });
    }
}
