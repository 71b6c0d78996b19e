using SharpPcap;
using SharpPcap.LibPcap;
using TunStack.Tests.Lab;
using TunStack.Tun.Interop;

namespace TunStack.Tests.Tun;

/// <summary>
/// Capture and injection on the kernel side of a TUN in a test namespace, through SharpPcap
/// (libpcap), where tests used to run tcpdump: the device is opened on a thread that has entered
/// the namespace (setns), so its packet socket belongs to it; capturing then runs on SharpPcap's
/// own thread and sending from any. The packets captured are kept, and written to a pcap file when asked.
/// </summary>
internal sealed class KernelSidePcap : IDisposable
{
    private readonly LibPcapLiveDevice _device;
    private readonly List<RawCapture> _captured = new();
    private readonly int _limit;

    private KernelSidePcap(LibPcapLiveDevice device, int limit)
    {
        _device = device;
        _limit = limit;
        _device.OnPacketArrival += (_, capture) =>
        {
            lock (_captured)
            {
                if (_captured.Count < _limit)
                {
                    _captured.Add(capture.GetPacket());
                }
            }
        };
        _device.StartCapture();
    }

    /// <summary>The link type libpcap reports for the device (LINKTYPE_RAW for a TUN).</summary>
    public PacketDotNet.LinkLayers LinkType => _device.LinkType;

    /// <summary>
    /// Starts capturing on <paramref name="device"/> in namespace <paramref name="netns"/>, at most
    /// <paramref name="snaplen"/> bytes of each of the first <paramref name="limit"/> packets that
    /// pass <paramref name="filter"/> (a pcap filter, or null for all). Skips without libpcap (fails under CI=true).
    /// </summary>
    public static KernelSidePcap Start(string netns, string device, string? filter = null, int snaplen = 65535, int limit = 100_000)
    {
        CaptureReplayTests.RequireLibpcap();
        LibPcapLiveDevice? opened = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                int fd = Libc.Open(Path.Combine("/run/netns", netns), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
                int entered = fd < 0 ? -1 : Libc.SetNamespace(fd, Libc.CLONE_NEWNET);
                int errno = Libc.LastError;
                if (fd >= 0)
                {
                    Libc.Close(fd);
                }

                if (entered != 0)
                {
                    throw new InvalidOperationException($"cannot enter {netns}: errno {errno}");
                }

                LibPcapLiveDevice live = LibPcapLiveDeviceList.New().Single(d => d.Name == device);
                live.Open(new DeviceConfiguration { Snaplen = snaplen, ReadTimeout = 100, Immediate = true });
                if (filter is not null)
                {
                    live.Filter = filter;
                }

                opened = live;
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"could not open {device} in {netns} with libpcap", failure);
        }

        return new KernelSidePcap(opened!, limit);
    }

    /// <summary>The packets captured so far (IP packets: a TUN has no link header).</summary>
    public IReadOnlyList<byte[]> Packets
    {
        get
        {
            lock (_captured)
            {
                return _captured.Select(c => c.Data).ToList();
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a captured packet that <paramref name="match"/> takes; returns it, or null.</summary>
    public byte[]? WaitFor(Func<byte[], bool> match, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        do
        {
            if (Packets.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            Thread.Sleep(20);
        }
        while (DateTime.UtcNow < deadline);
        return null;
    }

    /// <summary>Sends <paramref name="ipPacket"/> out of the kernel's side of the TUN: the stack receives it.</summary>
    public void Send(byte[] ipPacket) => _device.SendPacket(ipPacket);

    /// <summary>
    /// Stops capturing and writes what was captured to <paramref name="path"/> as a classic pcap of
    /// LINKTYPE_RAW (101), each record with the packet's length from its IP header (libpcap's own
    /// writer, through SharpPcap, neither writes LINKTYPE_RAW nor keeps the length of a packet cut
    /// at the snap length, so tshark would take every cut packet for a broken one).
    /// </summary>
    public void StopAndWrite(string path)
    {
        _device.StopCapture();
        using var file = new BinaryWriter(File.Create(path));
        file.Write(0xA1B2C3D4u); // magic (microseconds), written in this machine's byte order
        file.Write((ushort)2);
        file.Write((ushort)4);
        file.Write(0); // this zone
        file.Write(0u); // accuracy
        file.Write(65535u); // snap length
        file.Write(101u); // LINKTYPE_RAW
        lock (_captured)
        {
            foreach (RawCapture capture in _captured)
            {
                byte[] data = capture.Data;
                int length = data.Length >= 20 && data[0] >> 4 == 4 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2))
                    : data.Length >= 40 && data[0] >> 4 == 6 ? 40 + System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(4))
                    : data.Length;
                file.Write((uint)capture.Timeval.Seconds);
                file.Write((uint)capture.Timeval.MicroSeconds);
                file.Write((uint)data.Length);
                file.Write((uint)Math.Max(length, data.Length));
                file.Write(data);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            _device.StopCapture();
        }
        catch (PcapException)
        {
            // Stopped already.
        }

        _device.Close();
    }
}
