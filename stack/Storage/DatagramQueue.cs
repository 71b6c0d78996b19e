using System.Buffers.Binary;
using TunStack.Ip;

namespace TunStack.Storage;

/// <summary>
/// A bounded queue of datagrams with their sender, stored back to back in one <see cref="RingBuffer"/>
/// (24 bytes of bookkeeping per datagram, so even empty datagrams are bounded). No allocation per datagram.
/// </summary>
internal sealed class DatagramQueue
{
    /// <summary>Bytes of bookkeeping stored with each datagram.</summary>
    public const int RecordOverhead = 24;

    private readonly RingBuffer _ring;

    /// <summary>Creates a queue holding <paramref name="capacityBytes"/> bytes of datagrams and bookkeeping.</summary>
    public DatagramQueue(int capacityBytes) => _ring = new RingBuffer(Math.Max(capacityBytes, RecordOverhead));

    /// <summary>Datagrams waiting.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes used, bookkeeping included.</summary>
    public int BytesUsed => _ring.Count;

    /// <summary>Bytes the queue holds at most, record overheads included.</summary>
    public int CapacityBytes => _ring.Capacity;

    /// <summary>Length of the next datagram, or -1 when empty.</summary>
    public int NextLength
    {
        get
        {
            if (Count == 0)
            {
                return -1;
            }

            Span<byte> header = stackalloc byte[4];
            _ring.Peek(header);
            return BinaryPrimitives.ReadInt32LittleEndian(header);
        }
    }

    /// <summary>Appends a datagram; false (nothing stored) when it does not fit.</summary>
    public bool TryEnqueue(InternetEndpoint from, ReadOnlySpan<byte> payload)
    {
        if (RecordOverhead + payload.Length > _ring.Free)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[RecordOverhead];
        header.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], from.Port);
        header[6] = from.Address.IsV6 ? (byte)1 : (byte)0;
        from.Address.WriteTo(header[8..]);
        _ring.TryWrite(header);
        _ring.TryWrite(payload);
        Count++;
        return true;
    }

    /// <summary>
    /// Copies the next datagram (truncated to <paramref name="destination"/>) and, unless
    /// <paramref name="peek"/>, removes it. <paramref name="length"/> is its full length.
    /// </summary>
    public bool TryDequeue(Span<byte> destination, out int copied, out int length, out InternetEndpoint from, bool peek = false)
    {
        copied = 0;
        length = 0;
        from = default;
        if (Count == 0)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[RecordOverhead];
        _ring.Peek(header);
        length = BinaryPrimitives.ReadInt32LittleEndian(header);
        ushort port = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        InternetAddress address = header[6] == 1 ? InternetAddress.FromV6(header[8..]) : InternetAddress.FromV4(header[8..]);
        from = new InternetEndpoint(address, port);
        copied = _ring.Peek(destination[..Math.Min(destination.Length, length)], RecordOverhead);
        if (!peek)
        {
            _ring.Skip(RecordOverhead + length);
            Count--;
        }

        return true;
    }

    /// <summary>Discards everything.</summary>
    public void Clear()
    {
        _ring.Clear();
        Count = 0;
    }
}
