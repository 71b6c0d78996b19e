// System.IO.Pipelines over a connected stream socket: two pipes and two loops, as Kestrel's own
// socket transport does, so that a failed or reset connection completes both pipes instead of
// leaving a writer stuck half-flushed.
using System.IO.Pipelines;
using System.Net.Sockets;

namespace TunStack.Sockets;

/// <summary>
/// An <see cref="IDuplexPipe"/> over a connected <see cref="StackSocket"/>: a receive loop fills
/// <see cref="Input"/> from the socket (completing it at end of stream, or with the error; while
/// the connection is idle it waits with a zero-byte receive and holds no pipe memory), a send
/// loop drains <see cref="Output"/> into the socket; completing Output sends FIN (shutdown(Send))
/// once everything written has been taken by the socket. Disposing closes the socket.
/// </summary>
public sealed class StackDuplexPipe : IDuplexPipe, IAsyncDisposable
{
    private const int MinimumReadSize = 4096;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly Task _receiving;
    private readonly Task _sending;
    private int _disposed;

    /// <summary>Starts the loops on <paramref name="socket"/>; <paramref name="pauseWriterThreshold"/> bounds the bytes buffered in each direction.</summary>
    public StackDuplexPipe(StackSocket socket, long pauseWriterThreshold = 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Socket = socket;
        var options = new PipeOptions(pauseWriterThreshold: pauseWriterThreshold, resumeWriterThreshold: pauseWriterThreshold / 2, useSynchronizationContext: false);
        _input = new Pipe(options);
        _output = new Pipe(options);
        _receiving = Task.Run(ReceiveLoop);
        _sending = Task.Run(SendLoop);
    }

    /// <summary>The socket.</summary>
    public StackSocket Socket { get; }

    /// <inheritdoc/>
    public PipeReader Input => _input.Reader;

    /// <inheritdoc/>
    public PipeWriter Output => _output.Writer;

    /// <summary>Resets the connection (linger 0) and ends both loops; pending reads and writes fail.</summary>
    public void Abort()
    {
        try
        {
            Socket.LingerState = new LingerOption(true, 0);
            Socket.Dispose();
        }
        catch (ObjectDisposedException)
        {
            // Closed already.
        }
    }

    /// <summary>Completes both pipes, waits for what was written to be taken by the socket, and closes it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        await _sending.ConfigureAwait(false);
        Socket.Dispose();
        await _receiving.ConfigureAwait(false);
    }

    private async Task ReceiveLoop()
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                // Wait for data before taking memory from the pipe, as Kestrel's socket transport
                // does (WaitForDataBeforeAllocatingBuffer): an idle connection holds no buffer. The
                // zero-byte receive reads nothing; the end of stream or an error shows in the read below.
                await Socket.ReceiveAsync(Memory<byte>.Empty).ConfigureAwait(false);
                Memory<byte> memory = _input.Writer.GetMemory(MinimumReadSize);
                int n = await Socket.ReceiveAsync(memory).ConfigureAwait(false);
                if (n == 0)
                {
                    break; // end of stream
                }

                _input.Writer.Advance(n);
                FlushResult flushed = await _input.Writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break; // the reader is done
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = new IOException(e is ObjectDisposedException ? "The connection was closed locally." : e.Message, e);
        }

        await _input.Writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SendLoop()
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult result = await _output.Reader.ReadAsync().ConfigureAwait(false);
                await SendAsync(result.Buffer).ConfigureAwait(false);

                _output.Reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = new IOException(e.Message, e);
        }

        await _output.Reader.CompleteAsync(error).ConfigureAwait(false);
    }

    // What one flush wrote spans the pipe's blocks (4 KiB each in Kestrel's pool): all but the last
    // go with MSG_MORE, so the stack sends the flush as one super-segment rather than a packet per
    // block (a 5 KB page was a 4 KB super-segment, its tail and the next block's bytes: three writes).
    private async ValueTask SendAsync(System.Buffers.ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            await Socket.SendAsync(buffer.First).ConfigureAwait(false);
            return;
        }

        SequencePosition position = buffer.Start;
        while (buffer.TryGet(ref position, out ReadOnlyMemory<byte> segment))
        {
            bool last = position.GetObject() is null;
            await Socket.SendAsync(segment, last ? SocketFlags.None : StackSocketFlags.More).ConfigureAwait(false);
        }
    }
}
