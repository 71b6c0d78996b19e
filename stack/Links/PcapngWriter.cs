// pcapng (draft-ietf-opsawg-pcapng): Section Header, one Interface Description with
// LINKTYPE_RAW (101: raw IPv4/IPv6, no link header), and an Enhanced Packet Block per packet.
using System.Buffers.Binary;
using System.Text;

namespace TunStack.Links;

/// <summary>
/// Writes a pcapng capture of raw IP packets that tshark, Wireshark and tcpdump read. Each packet
/// is one Enhanced Packet Block with a microsecond timestamp and the direction in epb_flags.
/// Not thread-safe; the owner flushes or disposes it.
/// </summary>
public sealed class PcapngWriter : IDisposable
{
    /// <summary>LINKTYPE_RAW: the packet begins with an IPv4 or IPv6 header.</summary>
    public const ushort LinkTypeRaw = 101;

    private const uint SectionHeaderType = 0x0A0D0D0A;
    private const uint InterfaceDescriptionType = 1;
    private const uint EnhancedPacketType = 6;

    private readonly Stream _output;
    private readonly bool _ownsStream;
    private readonly long _unixMicrosecondsAtZero;
    private readonly byte[] _block = new byte[32 + 65536 + 16];

    /// <summary>
    /// Starts a capture on <paramref name="output"/>. Packet times are the stack's <see cref="Instant"/>
    /// plus <paramref name="unixMicrosecondsAtZero"/> (what the host's clock read at Instant.Zero).
    /// </summary>
    public PcapngWriter(Stream output, long unixMicrosecondsAtZero = 0, string interfaceName = "tunstack", bool ownsStream = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _ownsStream = ownsStream;
        _unixMicrosecondsAtZero = unixMicrosecondsAtZero;
        WriteSectionHeader();
        WriteInterfaceDescription(interfaceName);
    }

    /// <summary>Packets written.</summary>
    public long PacketCount { get; private set; }

    /// <summary>Appends one packet (truncated to 65,535 bytes).</summary>
    public void Write(ReadOnlySpan<byte> packet, Instant at, CaptureDirection direction)
    {
        int captured = Math.Min(packet.Length, 65535);
        int padded = (captured + 3) & ~3;
        int total = 28 + padded + 12 + 4;
        Span<byte> b = _block.AsSpan(0, total);
        long micros = at.Microseconds + _unixMicrosecondsAtZero;
        BinaryPrimitives.WriteUInt32LittleEndian(b, EnhancedPacketType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)((ulong)micros >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], (uint)micros);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)packet.Length);
        packet[..captured].CopyTo(b[28..]);
        b.Slice(28 + captured, padded - captured).Clear();
        int o = 28 + padded;
        BinaryPrimitives.WriteUInt16LittleEndian(b[o..], 2); // epb_flags
        BinaryPrimitives.WriteUInt16LittleEndian(b[(o + 2)..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(b[(o + 4)..], (uint)direction);
        BinaryPrimitives.WriteUInt32LittleEndian(b[(o + 8)..], 0); // opt_endofopt
        BinaryPrimitives.WriteUInt32LittleEndian(b[(total - 4)..], (uint)total);
        _output.Write(b);
        PacketCount++;
    }

    /// <summary>Flushes buffered blocks to the stream.</summary>
    public void Flush() => _output.Flush();

    /// <inheritdoc/>
    public void Dispose()
    {
        _output.Flush();
        if (_ownsStream)
        {
            _output.Dispose();
        }
    }

    private void WriteSectionHeader()
    {
        byte[] app = Encoding.UTF8.GetBytes("TunStack");
        int optLength = 4 + Pad(app.Length) + 4;
        int total = 28 + optLength;
        Span<byte> b = _block.AsSpan(0, total);
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, SectionHeaderType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(b[16..], -1); // section length unknown
        WriteOption(b[24..], 4, app); // shb_userappl
        BinaryPrimitives.WriteUInt32LittleEndian(b[(total - 4)..], (uint)total);
        _output.Write(b);
    }

    private void WriteInterfaceDescription(string name)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        int optLength = 4 + Pad(nameBytes.Length) + 4 + 4 + 4;
        int total = 16 + optLength + 4;
        Span<byte> b = _block.AsSpan(0, total);
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, InterfaceDescriptionType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)total);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], LinkTypeRaw);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], 262144); // snaplen
        int o = 16 + WriteOption(b[16..], 2, nameBytes); // if_name
        BinaryPrimitives.WriteUInt16LittleEndian(b[o..], 9); // if_tsresol: 10^-6
        BinaryPrimitives.WriteUInt16LittleEndian(b[(o + 2)..], 1);
        b[o + 4] = 6;
        BinaryPrimitives.WriteUInt32LittleEndian(b[(total - 4)..], (uint)total);
        _output.Write(b);
    }

    private static int WriteOption(Span<byte> destination, ushort code, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, code);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)value.Length);
        value.CopyTo(destination[4..]);
        return 4 + Pad(value.Length);
    }

    private static int Pad(int length) => (length + 3) & ~3;
}
