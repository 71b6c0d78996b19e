// A TUN read by a thread blocked in read(): the kernel wakes it with each packet, a signal ends
// the wait, and a StackHost on a single-queue TUN reads that way and answers through it.
using System.Diagnostics;
using TunStack.Ip;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Storage;
using TunStack.Tun;
using TunStack.Wire;

namespace TunStack.Tests.Tun;

public class BlockingReadTests
{
    [SkippableFact]
    public void SingleQueueTun_BlockingReaderWaiting_KernelPingArrivesAsOnePacketAndAnInterruptEndsTheNextWait()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace ns = TestNamespace.Create();
        using TunInterface tun = TunInterface.Open(new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "blkread0" },
            Namespace = ns.Name,
            KernelAddresses = new[] { IpPrefix.Parse("10.93.0.1/24") },
            DisableKernelIpv6 = true,
        });
        TunDevice device = tun.Device;
        Skip.IfNot(device.CanReadBlocking, "this kernel's TUN does not honour preadv2's RWF_NOWAIT (Linux 6.x), so its reads cannot block");
        device.BeginBlockingReads();
        Assert.False(device.CanReadBlocking); // one reader per device
        Assert.Equal(0, device.Receive(new PacketBatch(4, device.MaxPacketLength), default)); // the reader reads, not the loop

        // A read under way before the packet exists: the kernel's echo request wakes it.
        var batch = new PacketBatch(64, device.MaxPacketLength);
        Task<int> read = Task.Factory.StartNew(() => device.ReadBlocking(batch), TaskCreationOptions.LongRunning);
        Thread.Sleep(100);
        Assert.False(read.IsCompleted);
        using NamespaceProcess ping = ns.Start("ping", "-c", "1", "-W", "1", "10.93.0.2");
        Assert.True(read.Wait(TimeSpan.FromSeconds(5)), "the kernel's packet did not end the blocking read");
        Assert.Equal(1, read.Result);
        Assert.True(Ipv4Packet.TryCreate(batch[0], out Ipv4Packet request));
        Assert.Equal(IpProtocol.Icmp, request.Protocol);
        Assert.Equal(new byte[] { 10, 93, 0, 2 }, request.Destination.ToArray());

        // Nothing comes: the wait goes on until InterruptRead, which ends it with 0.
        batch.Clear();
        Task<int> idle = Task.Factory.StartNew(() => device.ReadBlocking(batch), TaskCreationOptions.LongRunning);
        Thread.Sleep(100);
        Assert.False(idle.IsCompleted);
        var watch = Stopwatch.StartNew();
        while (!idle.Wait(TimeSpan.FromMilliseconds(20)) && watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            device.InterruptRead();
        }

        Assert.True(idle.IsCompleted, "InterruptRead did not end the blocking read");
        Assert.Equal(0, idle.Result);
    }

    [SkippableFact]
    public void StackHostOnSingleQueueTun_KernelPingsTheStack_ReaderThreadAnswersAndStopsWithTheHost()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace reserved = TestNamespace.Reserve(); // the host creates it, and removes it
        string netns = reserved.Name;
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.94.0.2/24"));
        var tun = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "blkread1" },
            KernelAddresses = new[] { IpPrefix.Parse("10.94.0.1/24") },
            Namespace = netns,
            DisableKernelIpv6 = true,
        };
        StackHost host = StackHost.StartOnTun(tun, options);
        try
        {
            Skip.IfNot(host.Runner.HasReaderThread, "this kernel's TUN does not honour preadv2's RWF_NOWAIT (Linux 6.x): the loop polls instead");
            (int code, string output, string errors) = reserved.Exec("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.94.0.2");
            Assert.True(code == 0, output + errors);
            Assert.Contains("3 received", output);
        }
        finally
        {
            var watch = Stopwatch.StartNew();
            host.Dispose(); // the reader, blocked in read(), is interrupted and joined
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {watch.Elapsed}");
        }

        Assert.False(TestNamespace.Exists(netns));
    }

    [SkippableFact]
    public void StackHostOnSingleQueueTun_PingPongThenSlowPings_ReaderPollsCatchPacketsThenStopsPolling()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace reserved = TestNamespace.Reserve();
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.95.0.2/24"));
        var tun = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "blkread2" },
            KernelAddresses = new[] { IpPrefix.Parse("10.95.0.1/24") },
            Namespace = reserved.Name,
            DisableKernelIpv6 = true,
        };
        using StackHost host = StackHost.StartOnTun(tun, options);
        Skip.IfNot(host.Runner.HasReaderThread, "this kernel's TUN does not honour preadv2's RWF_NOWAIT (Linux 6.x): the loop polls instead");
        TunDevice device = host.Tun!.Device;
        Assert.Equal(TunOptions.DefaultBusyPoll, device.BusyPollLimit);

        // A flood ping sends each request as the last reply arrives: packets within microseconds
        // of each other, so the window opens and some requests are caught by the poll.
        (int code, string output, string errors) = reserved.Exec("ping", "-f", "-c", "2000", "-W", "1", "10.95.0.2");
        Assert.True(code == 0, output + errors);
        Assert.True(device.BusyPollHits > 0, $"{device.BusyPolls} polls, none found a packet");

        // Pings 200 ms apart: each blocked read waits far longer than the limit, so the window
        // halves with each and is closed after three (50 -> 25 -> 12.5 -> 0 µs); no poll finds a packet.
        long polls = device.BusyPolls, hits = device.BusyPollHits;
        (code, output, errors) = reserved.Exec("ping", "-c", "6", "-i", "0.2", "-W", "2", "10.95.0.2");
        Assert.True(code == 0, output + errors);
        Assert.Equal(hits, device.BusyPollHits);
        Assert.InRange(device.BusyPolls - polls, 0, 3);
    }
}
