// A Stream over a connected stream socket, as System.Net.Sockets.NetworkStream is over Socket.
using System.Net.Sockets;

namespace TunStack.Sockets;

/// <summary>
/// A <see cref="Stream"/> over a connected <see cref="StackSocket"/> (like NetworkStream): reads
/// return 0 at end of stream, writes send everything. Socket errors surface as
/// <see cref="IOException"/> with the <see cref="SocketException"/> inside, as NetworkStream does.
/// </summary>
public sealed class StackNetworkStream : Stream
{
    private readonly bool _ownsSocket;
    private int _disposed;

    /// <summary>Wraps <paramref name="socket"/>; with <paramref name="ownsSocket"/>, disposing the stream closes it.</summary>
    public StackNetworkStream(StackSocket socket, bool ownsSocket = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SocketType != SocketType.Stream)
        {
            throw new IOException("A StackNetworkStream needs a stream socket.");
        }

        Socket = socket;
        _ownsSocket = ownsSocket;
    }

    /// <summary>The socket.</summary>
    public StackSocket Socket { get; }

    /// <inheritdoc/>
    public override bool CanRead => _disposed == 0;

    /// <inheritdoc/>
    public override bool CanWrite => _disposed == 0;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Bytes that a read returns without waiting.</summary>
    public bool DataAvailable => Socket.Available > 0;

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        try
        {
            return Socket.Receive(buffer);
        }
        catch (SocketException e)
        {
            throw new IOException($"Unable to read data from the transport connection: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            Socket.Send(buffer);
        }
        catch (SocketException e)
        {
            throw new IOException($"Unable to write data to the transport connection: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"Unable to read data from the transport connection: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await Socket.SendAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"Unable to write data to the transport connection: {e.Message}", e);
        }
    }

    /// <summary>Nothing to flush: a write is in the socket's send buffer when it returns.</summary>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsSocket)
        {
            Socket.Dispose();
        }

        base.Dispose(disposing);
    }
}

