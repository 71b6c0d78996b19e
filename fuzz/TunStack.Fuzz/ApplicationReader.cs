using TunStack.Tcp;

namespace TunStack.Fuzz;

/// <summary>
/// The application end of a connection under fuzz: it reads whatever is readable and, for a
/// connection whose peer sends <see cref="StreamPattern"/> bytes, checks that the stream it reads
/// is that pattern in order, no byte twice and none out of place. The one byte the stack may take
/// out of the stream is urgent data (RFC 6093, as Linux and BSD: one byte out of band), which
/// <see cref="Counter.TcpUrgentReceived"/> counts.
/// </summary>
internal sealed class ApplicationReader
{
    private readonly TcpConnection _connection;
    private readonly StackCounters _counters;
    private readonly bool _checkPattern;
    private readonly byte[] _buffer;
    private readonly long _patternStart;
    private long _expected;
    private long _urgentSkipped;

    /// <summary>
    /// A reader of <paramref name="connection"/>, taking at most <paramref name="readSize"/> bytes a
    /// call; with <paramref name="checkPattern"/>, its stream must be the pattern from
    /// <paramref name="patternStart"/> on.
    /// </summary>
    public ApplicationReader(TcpConnection connection, StackCounters counters, bool checkPattern, long patternStart = 0, int readSize = 4096)
    {
        _buffer = new byte[readSize];
        _connection = connection;
        _counters = counters;
        _checkPattern = checkPattern;
        _patternStart = patternStart;
    }

    public TcpConnection Connection => _connection;

    /// <summary>Bytes the application has read.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Reads until nothing is readable (or <paramref name="limit"/> bytes), checking the pattern.</summary>
    public void Read(int limit = int.MaxValue)
    {
        while (limit > 0)
        {
            int n = _connection.Receive(_buffer.AsSpan(0, Math.Min(_buffer.Length, limit)), out _);
            if (n <= 0)
            {
                break;
            }

            InvariantViolationException.Check(n <= _buffer.Length, "a read returned more bytes than the buffer holds");
            BytesRead += n;
            limit -= n;
            if (_checkPattern)
            {
                Check(_buffer.AsSpan(0, n));
            }
        }

        // The out-of-band byte, when one waits, is taken as MSG_OOB would.
        _connection.TryReceiveUrgent(out _);
    }

    private void Check(ReadOnlySpan<byte> read)
    {
        foreach (byte b in read)
        {
            if (b == StreamPattern.At(_patternStart + _expected))
            {
                _expected++;
                continue;
            }

            bool urgentTakenHere = _urgentSkipped < _counters[Counter.TcpUrgentReceived] && b == StreamPattern.At(_patternStart + _expected + 1);
            InvariantViolationException.Check(urgentTakenHere,
                $"the application read byte {b:x2} at stream offset {_expected}, where the peer sent {StreamPattern.At(_patternStart + _expected):x2}: data delivered twice, out of order or from the wrong place");
            _urgentSkipped++;
            _expected += 2;
        }
    }
}
