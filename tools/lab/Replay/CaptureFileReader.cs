using System.Buffers.Binary;
using SharpPcap;
using SharpPcap.LibPcap;

namespace TunStack.Lab.Replay;

/// <summary>
/// Reads a pcap or pcapng file through SharpPcap (libpcap underneath) and yields its IP packets:
/// the link header of Ethernet (with one VLAN tag), Linux cooked (v1 and v2), BSD loopback and raw
/// IP captures is removed; frames that carry no IPv4 or IPv6 packet are counted and skipped.
/// </summary>
internal sealed class CaptureFileReader : IDisposable
{
    // Link-layer header types (tcpdump.org/linktypes.html); DLT_RAW is 12 or 14 on some systems.
    private const int LinkNull = 0;
    private const int LinkEthernet = 1;
    private const int LinkRawBsd = 12;
    private const int LinkRawOpenBsd = 14;
    private const int LinkRaw = 101;
    private const int LinkLoop = 108;
    private const int LinkLinuxSll = 113;
    private const int LinkIpv4 = 228;
    private const int LinkIpv6 = 229;
    private const int LinkLinuxSll2 = 276;

    private readonly CaptureFileReaderDevice _device;
    private readonly int _linkType;

    private CaptureFileReader(CaptureFileReaderDevice device)
    {
        _device = device;
        _linkType = (int)device.LinkType;
    }

    /// <summary>Frames read that held no IP packet (another protocol, or a link type this reader does not know).</summary>
    public long NotIp { get; private set; }

    /// <summary>Opens <paramref name="path"/>; a missing file, a file that is not a capture, or a missing libpcap is a <see cref="CaptureReplayException"/>.</summary>
    public static CaptureFileReader Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new CaptureReplayException($"{path}: no such file");
        }

        CaptureFileReaderDevice device;
        try
        {
            device = new CaptureFileReaderDevice(path);
            device.Open();
        }
        catch (DllNotFoundException e)
        {
            throw new CaptureReplayException("libpcap is not installed: replay reads captures through it (Debian: apt-get install libpcap0.8)", e);
        }
        catch (TypeInitializationException e) when (e.InnerException is DllNotFoundException)
        {
            throw new CaptureReplayException("libpcap is not installed: replay reads captures through it (Debian: apt-get install libpcap0.8)", e);
        }
        catch (PcapException e)
        {
            throw new CaptureReplayException($"{path}: not a pcap or pcapng capture ({e.Message.Trim()})", e);
        }

        return new CaptureFileReader(device);
    }

    /// <summary>Reads the next IP packet; false at the end of the file.</summary>
    public bool TryRead(out CapturedPacket packet)
    {
        while (true)
        {
            GetPacketStatus status = _device.GetNextPacket(out PacketCapture capture);
            if (status != GetPacketStatus.PacketRead)
            {
                packet = default;
                return false;
            }

            PosixTimeval time = capture.Header.Timeval;
            long micros = checked((long)time.Seconds * 1_000_000 + (long)time.MicroSeconds);
            ReadOnlySpan<byte> ip = StripLinkHeader(capture.Data, _linkType);
            if (ip.Length >= 20 && (ip[0] >> 4 == 4 || (ip[0] >> 4 == 6 && ip.Length >= 40)))
            {
                packet = new CapturedPacket(micros, ip.ToArray());
                return true;
            }

            NotIp++;
        }
    }

    /// <summary>The IP packet inside a frame of <paramref name="linkType"/>; empty when the frame carries none.</summary>
    internal static ReadOnlySpan<byte> StripLinkHeader(ReadOnlySpan<byte> frame, int linkType)
    {
        switch (linkType)
        {
            case LinkRaw or LinkRawBsd or LinkRawOpenBsd or LinkIpv4 or LinkIpv6:
                return frame;
            case LinkEthernet:
                if (frame.Length < 14)
                {
                    return default;
                }

                int offset = 12;
                ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
                if (etherType is 0x8100 or 0x88A8 && frame.Length >= 18)
                {
                    offset += 4;   // IEEE 802.1Q / 802.1ad: one tag
                    etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
                }

                return etherType is 0x0800 or 0x86DD ? frame[(offset + 2)..] : default;
            case LinkNull or LinkLoop:
                return frame.Length > 4 ? frame[4..] : default;
            case LinkLinuxSll:
                return frame.Length > 16 && BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) is 0x0800 or 0x86DD ? frame[16..] : default;
            case LinkLinuxSll2:
                return frame.Length > 20 && BinaryPrimitives.ReadUInt16BigEndian(frame) is 0x0800 or 0x86DD ? frame[20..] : default;
            default:
                return default;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _device.Dispose();
}
