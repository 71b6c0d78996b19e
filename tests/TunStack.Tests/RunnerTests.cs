using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets.Hosting;
using TunStack.Udp;

namespace TunStack.Tests;

public class RunnerTests
{
    [Fact]
    public async Task TwoRunners_RealClock_UdpRoundTripAndPing()
    {
        (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair();
        using var runnerA = new StackRunner(a, Options("10.1.0.1/24"), "stack-a");
        using var runnerB = new StackRunner(b, Options("10.1.0.2/24"), "stack-b");
        runnerA.Start();
        runnerB.Start();

        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await runnerB.InvokeAsync(stack =>
        {
            UdpEndpoint server = stack.OpenUdp();
            server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 9));
            var buffer = new byte[100];
            server.Readable = () =>
            {
                server.TryReceiveFrom(buffer, out int n, out _, out _);
                received.TrySetResult(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
            };
            return 0;
        });

        IcmpEchoEndpoint ping = await runnerA.InvokeAsync(stack => stack.OpenEcho(7)!);
        var replied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ping.Readable = () => replied.TrySetResult();
        await runnerA.InvokeAsync(stack =>
        {
            UdpEndpoint client = stack.OpenUdp();
            ping.SendRequest(InternetAddress.Parse("10.1.0.2"), 1, "x"u8);
            return client.SendTo("over a real clock"u8, new InternetEndpoint(InternetAddress.Parse("10.1.0.2"), 9));
        });

        Assert.Equal("over a real clock", await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await replied.Task.WaitAsync(TimeSpan.FromSeconds(10));
        runnerA.Stop();
        runnerB.Stop();
    }

    [Fact]
    public async Task Runner_FiresTimersOnRealClock_ReassemblyExpires()
    {
        (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair();
        var options = Options("10.2.0.1/24");
        options.ReassemblyTimeoutV4 = TimeSpan.FromMilliseconds(200);
        using var runner = new StackRunner(a, options);
        runner.Start();
        var batch = new TunStack.Storage.PacketBatch(1, 1500);
        batch.TryAdd(Packets.Ipv4(InternetAddress.Parse("10.2.0.2"), InternetAddress.Parse("10.2.0.1"), 17, new byte[64], 1, mf: true));
        b.Transmit(batch, Instant.Zero);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (runner.Counters[Counter.ReassemblyTimeout] == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, runner.Counters[Counter.ReassemblyTimeout]);
        runner.Stop();
    }

    [Fact]
    public void Runner_StopThenDisposeTwice_NoError()
    {
        (MemoryLink a, _) = MemoryLink.CreatePair();
        var runner = new StackRunner(a, Options("10.3.0.1/24"));
        runner.Start();
        runner.Stop();
        runner.Dispose();
        runner.Dispose();
    }

    [Fact]
    public void ManualClock_Start_IsRefused()
    {
        (MemoryLink a, MemoryLink _) = MemoryLink.CreatePair();
        using var runner = new StackRunner(a, Options("10.1.0.1/24"), "manual", StackClock.Manual);
        Assert.Throws<InvalidOperationException>(runner.Start);
    }

    // RFC 6298 2.1 (initial RTO of 1 s): on the manual clock the SYN is retransmitted when the owner
    // has moved the clock to the deadline and polled, and not a microsecond before.
    [Fact]
    public void ManualClock_AdvancedToRetransmissionDeadline_SynRetransmittedWhenPolled()
    {
        (MemoryLink a, MemoryLink far) = MemoryLink.CreatePair();
        using var runner = new StackRunner(a, Options("10.1.0.1/24"), "manual", StackClock.Manual);
        var batch = new TunStack.Storage.PacketBatch(8, 1500);
        int Sent()
        {
            batch.Clear();
            return far.Receive(batch, Instant.Zero);
        }

        using (StackCall call = runner.Enter())
        {
            Assert.NotNull(call.Stack.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.1.0.2"), 80), out _));
            call.Stack.Poll(runner.CurrentTime);
        }

        Assert.Equal(1, Sent());
        runner.AdvanceTo(Instant.Zero + TimeSpan.FromMilliseconds(999));
        using (StackCall call = runner.Enter())
        {
            call.Stack.Poll(runner.CurrentTime);
        }

        Assert.Equal(0, Sent());
        runner.AdvanceTo(Instant.Zero + TimeSpan.FromSeconds(1));
        Assert.Equal(0, Sent());
        using (StackCall call = runner.Enter())
        {
            call.Stack.Poll(runner.CurrentTime);
        }

        Assert.Equal(1, Sent());
        Assert.Equal(Instant.Zero + TimeSpan.FromSeconds(1), runner.CurrentTime);
    }

    private static StackOptions Options(string address)
    {
        var o = new StackOptions();
        o.Addresses.Add(IpPrefix.Parse(address));
        return o;
    }
}
