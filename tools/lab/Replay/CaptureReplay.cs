using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Udp;
using TunStack.Wire;

namespace TunStack.Lab.Replay;

/// <summary>
/// Replays a field capture against a TunStack stack in virtual time. The stack takes the captured
/// host's addresses; every packet the capture shows arriving at that host is fed to the stack at
/// its capture time (relative to the first packet); every packet the host sent is not fed but
/// tells what its applications did: the data they wrote, their closes, their connects. Listeners
/// and UDP ports are opened where the capture shows the host being reached. The stack answers on
/// its own, with its own sequence numbers, so a peer's acknowledgment numbers, SACK blocks and
/// timestamp echoes are moved into the stack's sequence space once both SYNs are known.
/// </summary>
public static class CaptureReplay
{
    /// <summary>Replays <paramref name="capturePath"/> (pcap or pcapng); throws <see cref="CaptureReplayException"/> when it cannot be read.</summary>
    public static CaptureReplayResult Run(string capturePath, CaptureReplayOptions options)
    {
        ArgumentNullException.ThrowIfNull(capturePath);
        ArgumentNullException.ThrowIfNull(options);
        List<CapturedPacket> packets;
        long notIp;
        using (CaptureFileReader reader = CaptureFileReader.Open(capturePath))
        {
            packets = new List<CapturedPacket>();
            while (reader.TryRead(out CapturedPacket packet))
            {
                packets.Add(packet);
            }

            notIp = reader.NotIp;
        }

        var addresses = options.Addresses.Count > 0 ? options.Addresses.ToList() : InferHost(packets, capturePath);
        using var session = new ReplaySession(packets, addresses, options);
        CaptureReplayResult result = session.Execute();
        result.FramesNotIp = notIp;
        return result;
    }

    /// <summary>The host a capture was taken for: the destination of its first SYN, else of its first TCP or UDP packet.</summary>
    private static List<InternetAddress> InferHost(List<CapturedPacket> packets, string capturePath)
    {
        InternetAddress? firstTransport = null;
        foreach (CapturedPacket packet in packets)
        {
            if (!CapturedHeaders.TryRead(packet.Packet, out CapturedHeaders headers))
            {
                continue;
            }

            if (headers.IsTcp && (headers.TcpFlags(packet.Packet) & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
            {
                return new List<InternetAddress> { headers.Destination };
            }

            if (firstTransport is null && (headers.IsTcp || headers.IsUdp))
            {
                firstTransport = headers.Destination;
            }
        }

        return firstTransport is { } address
            ? new List<InternetAddress> { address }
            : throw new CaptureReplayException($"{capturePath}: no TCP or UDP packet to replay");
    }
}
