// What Kestrel sees of a SharedStackListener: one IConnectionListener per bound endpoint.
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace TunStack.Sockets.AspNetCore.Internal;

/// <summary>
/// One Kestrel listener (the plain or the h2c endpoint) on a <see cref="SharedStackListener"/>:
/// the shared accept loop offers it connections, Kestrel takes them with AcceptAsync.
/// </summary>
internal sealed class StackConnectionListener : IConnectionListener
{
    private readonly SharedStackListener _owner;
    private readonly Channel<ConnectionContext> _ready = Channel.CreateBounded<ConnectionContext>(1024);

    public StackConnectionListener(SharedStackListener owner, EndPoint endPoint)
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
        catch (Exception e) when (e is ChannelClosedException or OperationCanceledException)
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
