// The question TunDevice asks a queue when it opens (can reads be told not to wait?) reads a
// packet if one is already queued; that packet is kept for the first read, not dropped. A pipe
// stands in for the queue: it answers preadv2 with RWF_NOWAIT as a TUN of Linux 6.x does.
using System.IO.Pipes;
using TunStack.Storage;
using TunStack.Tun;

namespace TunStack.Tests.Tun;

public class NoWaitProbeTests
{
    [Fact]
    public void PacketQueuedAtOpen_Probe_KeepsThePacketForTheFirstRead()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, writer.ClientSafePipeHandle);
        byte[] packet = [0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        writer.Write(packet);
        writer.Flush();
        TunQueueCounts counts = default;

        bool canSkipWaiting = TunDevice.ReadsCanSkipWaiting((int)reader.SafePipeHandle.DangerousGetHandle(), vnet: false, 1500, out PacketBatch? probed, ref counts);

        Assert.True(canSkipWaiting);
        Assert.NotNull(probed);
        Assert.Equal(packet, probed[0].ToArray());
        Assert.Equal(1, counts.Read);
    }

    [Fact]
    public void NothingQueuedAtOpen_Probe_KeepsNothingAndDoesNotWait()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, writer.ClientSafePipeHandle);
        TunQueueCounts counts = default;

        bool canSkipWaiting = TunDevice.ReadsCanSkipWaiting((int)reader.SafePipeHandle.DangerousGetHandle(), vnet: false, 1500, out PacketBatch? probed, ref counts);

        Assert.True(canSkipWaiting);
        Assert.Null(probed);
        Assert.Equal(0, counts.Read);
    }
}
