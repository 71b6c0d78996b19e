// One listening StackSocket under up to two Kestrel listeners (plain and h2c), and the accept
// loop that hands each connection to the right one.
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace TunStack.Sockets.AspNetCore.Internal;

/// <summary>
/// One listening socket and up to two Kestrel listeners on it: without an h2c branch every
/// connection is plain; with both, a connection that opens with the HTTP/2 preface goes to h2c.
/// </summary>
internal sealed class SharedStackListener
{
    private static readonly byte[] s_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private readonly StackSocket _socket;
    private readonly StackConnectionListenerFactory _factory;
    private readonly IPEndPoint _key;
    private StackConnectionListener? _plain;
    private StackConnectionListener? _h2c;
    private Task? _acceptLoop;
    private long _nextId;

    public SharedStackListener(StackSocket socket, StackConnectionListenerFactory factory, IPEndPoint key)
    {
        _socket = socket;
        _factory = factory;
        _key = key;
    }

    public bool IsClosed { get; private set; }

    public IConnectionListener Branch(bool h2c, EndPoint requested)
    {
        EndPoint local = _socket.LocalEndPoint!;
        var branch = new StackConnectionListener(this, h2c ? new H2cPriorKnowledgeEndPoint((IPEndPoint)local) : local);
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

    public void Remove(StackConnectionListener branch)
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
        StackConnectionListener? target = _plain ?? _h2c;
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
}
