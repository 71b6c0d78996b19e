using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Lab.Replay;

/// <summary>
/// One TCP flow of a replayed capture, from the replaying stack's side: the captured host's and
/// the stack's initial sequence numbers and timestamp clocks (each learned from that side's SYN),
/// the data the captured host's application sent, not yet handed to the stack's connection, and
/// the connection once it exists.
/// </summary>
internal sealed class ReplayedFlow
{
    private readonly Queue<byte[]> _pending = new();
    private int _pendingOffset;
    private uint? _capturedIsn;
    private uint? _stackIsn;
    private uint? _capturedTsVal;
    private uint? _stackTsVal;
    private uint _capturedNext;   // the captured host's next new sequence number (SYN included)

    public ReplayedFlow(TcpTuple tuple) => Tuple = tuple;

    /// <summary>Local: the replaying stack's (the captured host's) endpoint; Remote: its peer's.</summary>
    public TcpTuple Tuple { get; }

    public TcpConnection? Connection { get; set; }

    /// <summary>The captured host's application closed its side (its FIN was captured).</summary>
    public bool CloseRequested { get; private set; }

    public bool Closed { get; set; }

    public long BytesReceived { get; set; }

    public long BytesSent { get; private set; }

    /// <summary>True once both SYNs were seen, so the peer's acknowledgments can be moved to the stack's sequence space.</summary>
    public bool Mapped => _capturedIsn.HasValue && _stackIsn.HasValue;

    /// <summary>A segment the captured host sent: its SYN fixes the captured ISN; new payload is data its application wrote; a FIN is its close.</summary>
    public void NoteCapturedSegment(ReadOnlySpan<byte> segment)
    {
        var flags = (TcpFlags)segment[13];
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(segment[4..]);
        if ((flags & TcpFlags.Syn) != 0)
        {
            if (!_capturedIsn.HasValue)
            {
                _capturedIsn = seq;
                _capturedTsVal = TimestampValue(segment);
                _capturedNext = seq + 1;
            }

            return;
        }

        if (!_capturedIsn.HasValue)
        {
            return;   // the capture began mid-flow: the application's data cannot be placed
        }

        int headerLength = (segment[12] >> 4) * 4;
        ReadOnlySpan<byte> payload = segment[Math.Min(headerLength, segment.Length)..];
        uint end = seq + (uint)payload.Length;
        // Only bytes beyond what the host sent before are new: retransmissions are the stack's job.
        if (payload.Length > 0 && (int)(end - _capturedNext) > 0)
        {
            int skip = (int)(_capturedNext - seq);
            skip = Math.Clamp(skip, 0, payload.Length);
            _pending.Enqueue(payload[skip..].ToArray());
            _capturedNext = end;
        }

        if ((flags & TcpFlags.Fin) != 0)
        {
            CloseRequested = true;
        }
    }

    /// <summary>A segment the replaying stack sent: its SYN fixes the stack's ISN and timestamp clock.</summary>
    public void NoteStackSegment(ReadOnlySpan<byte> segment)
    {
        if (((TcpFlags)segment[13] & TcpFlags.Syn) != 0 && !_stackIsn.HasValue)
        {
            _stackIsn = BinaryPrimitives.ReadUInt32BigEndian(segment[4..]);
            _stackTsVal = TimestampValue(segment);
        }
    }

    /// <summary>
    /// Moves a segment from the peer into the stack's sequence space: the acknowledgment number and
    /// SACK edges by the difference of the two ISNs, the timestamp echo by the difference of the two
    /// timestamp clocks. The caller recomputes the checksum. False when nothing was changed.
    /// </summary>
    public bool RewritePeerSegment(Span<byte> segment)
    {
        if (!Mapped)
        {
            return false;
        }

        uint delta = _stackIsn!.Value - _capturedIsn!.Value;
        var flags = (TcpFlags)segment[13];
        if ((flags & TcpFlags.Ack) != 0)
        {
            BinaryPrimitives.WriteUInt32BigEndian(segment[8..], BinaryPrimitives.ReadUInt32BigEndian(segment[8..]) + delta);
        }

        int headerLength = Math.Min((segment[12] >> 4) * 4, segment.Length);
        Span<byte> options = segment[TcpSegment.MinHeaderLength..headerLength];
        for (int i = 0; i < options.Length;)
        {
            byte kind = options[i];
            if (kind == TcpOptions.KindEnd)
            {
                break;
            }

            if (kind == TcpOptions.KindNop)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length || options[i + 1] < 2 || i + options[i + 1] > options.Length)
            {
                break;   // malformed: left for the stack to judge
            }

            int length = options[i + 1];
            if (kind == TcpOptions.KindSack)
            {
                // RFC 2018 3: each block is a left and a right edge, both sequence numbers of our data.
                for (int edge = i + 2; edge + 4 <= i + length; edge += 4)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(options[edge..], BinaryPrimitives.ReadUInt32BigEndian(options[edge..]) + delta);
                }
            }
            else if (kind == TcpOptions.KindTimestamps && length == 10 && _capturedTsVal.HasValue && _stackTsVal.HasValue)
            {
                // RFC 7323 3.2: TSecr echoes our TSval; it is zero when there is none to echo.
                uint echo = BinaryPrimitives.ReadUInt32BigEndian(options[(i + 6)..]);
                if (echo != 0)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(options[(i + 6)..], echo + (_stackTsVal.Value - _capturedTsVal.Value));
                }
            }

            i += length;
        }

        return true;
    }

    /// <summary>Hands as much of the captured application's data to the connection as it takes now; closes it once all is sent and the host had closed.</summary>
    public void PushApplicationData()
    {
        if (Connection is null || Closed)
        {
            return;
        }

        while (_pending.Count > 0)
        {
            byte[] chunk = _pending.Peek();
            int sent = Connection.Send(chunk.AsSpan(_pendingOffset), out StackError error);
            if (error != StackError.None && error != StackError.WouldBlock)
            {
                _pending.Clear();
                break;
            }

            BytesSent += sent;
            _pendingOffset += sent;
            if (_pendingOffset < chunk.Length)
            {
                return;   // the send buffer is full: the rest goes when it drains
            }

            _pending.Dequeue();
            _pendingOffset = 0;
        }

        if (CloseRequested)
        {
            Connection.Close();
            Closed = true;
        }
    }

    private static uint? TimestampValue(ReadOnlySpan<byte> segment)
    {
        int headerLength = Math.Min((segment[12] >> 4) * 4, segment.Length);
        TcpOptions options = TcpOptions.Parse(segment[TcpSegment.MinHeaderLength..headerLength]);
        return options.HasTimestamps ? options.TimestampValue : null;
    }
}
