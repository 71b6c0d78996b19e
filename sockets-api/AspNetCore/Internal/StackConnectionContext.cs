// One accepted StackSocket as Kestrel's ConnectionContext, its transport a StackDuplexPipe.
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace TunStack.Sockets.AspNetCore.Internal;

/// <summary>A connection Kestrel serves: the socket's pipes, its endpoints, and Abort as a reset.</summary>
internal sealed class StackConnectionContext : ConnectionContext, IConnectionEndPointFeature, IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature
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
