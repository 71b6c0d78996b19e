namespace TunStack.Perf.Campaign;

/// <summary>
/// A run of one stream's <see cref="StreamPattern"/> bytes kept for a sender: an application
/// offers the same bytes again and again while the connection's send buffer is full, and they are
/// computed once rather than on every offer.
/// </summary>
internal sealed class StreamPatternWindow
{
    private readonly byte[] _bytes;
    private ulong _stream;
    private long _offset = -1;

    public StreamPatternWindow(int size) => _bytes = new byte[size];

    /// <summary>The stream's bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>), length at most the window's size.</summary>
    public ReadOnlySpan<byte> Bytes(ulong stream, long offset, int length)
    {
        if (stream != _stream || _offset < 0 || offset < _offset || offset + length > _offset + _bytes.Length)
        {
            StreamPattern.Fill(_bytes, stream, offset);
            _stream = stream;
            _offset = offset;
        }

        return _bytes.AsSpan((int)(offset - _offset), length);
    }
}
