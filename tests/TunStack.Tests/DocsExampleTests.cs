using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;
using TunStack.Udp;
using TcpAcceptor = TunStack.Tcp.TcpAcceptor;

namespace TunStack.Tests;

/// <summary>The examples of docs/using-the-core.md and docs/sockets.md, verbatim, with assertions around them.</summary>
public class DocsExampleTests
{
    [Fact]
    public void SocketsPage_FirstProgram()
    {
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.9.0.1/24"));
        (MemoryLink link, MemoryLink far) = MemoryLink.CreatePair();     // or StackHost.StartOnTun(...)
        using StackHost host = StackHost.Start(link, options);

        using StackSocket listener = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Listen(16);                                              // no bind: an ephemeral port
        var at = (IPEndPoint)listener.LocalEndPoint!;

        using StackSocket client = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Parse("10.9.0.1"), at.Port));   // through the stack's own address
        using StackSocket server = listener.Accept();
        client.Send("hello"u8);
        var buffer = new byte[5];
        server.Receive(buffer, StackSocketFlags.WaitAll);                 // "hello"

        Assert.Equal("hello"u8.ToArray(), buffer);
        Assert.NotNull(far);
    }

    [Fact]
    public void TwoStacksOnAVirtualClock_PingAndUdp_Work()
    {
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair(mtu: 1500);
        var sim = new Simulation();
        var optionsA = new StackOptions();
        optionsA.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        var optionsB = new StackOptions();
        optionsB.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        NetworkStack a = sim.Add(new NetworkStack(wireA, optionsA));
        NetworkStack b = sim.Add(new NetworkStack(wireB, optionsB));

        // Ping B from A.
        IcmpEchoEndpoint ping = a.OpenEcho(identifier: 1)!;
        ping.SendRequest(InternetAddress.Parse("10.0.0.2"), sequence: 1, "hello"u8);
        sim.RunUntil(() => ping.PendingReplies > 0, TimeSpan.FromSeconds(1));
        ping.TryReceiveReply(new byte[64], out InternetAddress from, out ushort seq, out int length);

        // A UDP server on B, a client on A.
        UdpEndpoint server = b.OpenUdp();
        server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 5353));
        UdpEndpoint client = a.OpenUdp();
        client.SendTo("question"u8, new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 5353));
        sim.RunUntil(() => server.QueuedDatagrams > 0, TimeSpan.FromSeconds(1));
        var buffer = new byte[2048];
        server.TryReceiveFrom(buffer, out int copied, out int datagramLength, out InternetEndpoint sender);

        Assert.Equal((InternetAddress.Parse("10.0.0.2"), (ushort)1, 5), (from, seq, length));
        Assert.Equal("question"u8.ToArray(), buffer[..copied]);
        Assert.Equal(copied, datagramLength);
        Assert.Equal(InternetAddress.Parse("10.0.0.1"), sender.Address);
    }

    [Fact]
    public async Task RealClockOnItsOwnThread_InvokeAsync_Works()
    {
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair();
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.7.0.1/24"));
        using var runner = new StackRunner(near, options);
        runner.Start();
        int port = await runner.InvokeAsync(stack =>
        {
            UdpEndpoint e = stack.OpenUdp();
            e.Bind(new InternetEndpoint(InternetAddress.AnyV4, 0));
            return (int)e.LocalEndpoint!.Value.Port;
        });
        runner.Stop();

        Assert.InRange(port, 32768, 60999);
        _ = far;
    }

    [Fact]
    public void CapturingAndImpairing_Compose()
    {
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair();
        var lossy = new Impairment { LossPercent = 1, Delay = TimeSpan.FromMilliseconds(10), ReorderPercent = 5 };
        var impaired = new ImpairedLink(wireA, ingress: Impairment.None, egress: lossy, seed: 42);
        string path = Path.Combine(Path.GetTempPath(), $"a-{Guid.NewGuid():N}.pcapng");
        var captured = new CaptureLink(impaired, new PcapngWriter(File.Create(path)));
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        var stack = new NetworkStack(captured, options);
        stack.OpenUdp().SendTo("x"u8, new InternetEndpoint(InternetAddress.Parse("10.0.0.9"), 9));
        stack.Poll(Instant.Zero);
        captured.Dispose(); // flushes the capture

        Assert.True(new FileInfo(path).Length > 0);
        Assert.True(Impairment.TryParse("loss=1%,delay=10ms,reorder=5%,seed=42", out var i, out int? seed, out string? error));
        Assert.Equal((1.0, 42), (i.LossPercent, seed!.Value));
        Assert.Null(error);
        File.Delete(path);
        _ = wireB;
    }

    [Fact]
    public void TcpListenConnectExchangeClose_AsDocumented()
    {
        var sim = new Simulation();
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair();
        var optionsA = new StackOptions();
        optionsA.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        var optionsB = new StackOptions();
        optionsB.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        NetworkStack client = sim.Add(new NetworkStack(wireA, optionsA));
        NetworkStack server = sim.Add(new NetworkStack(wireB, optionsB));

        TcpAcceptor listener = server.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7), backlog: 16, out StackError error)!;
        listener.Readable = () =>
        {
            while (listener.TryAccept(out TcpConnection? accepted))
            {
                TcpConnection c = accepted!;
                var buffer = new byte[4096];
                c.Readable = () =>
                {
                    int n;
                    StackError e;
                    while ((n = c.Receive(buffer, out e)) > 0)
                    {
                        c.Send(buffer.AsSpan(0, n), out _);   // echo
                    }

                    if (n == 0 && e == StackError.None)
                    {
                        c.Close();                             // the client closed: close our side too
                    }
                };
            }
        };

        TcpConnection connection = client.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 7), out error)!;
        sim.RunUntil(() => connection.State == TcpConnectionState.Established, TimeSpan.FromSeconds(5));
        connection.Send("hello, tcp"u8, out error);
        sim.RunUntil(() => connection.Available == 10, TimeSpan.FromSeconds(5));
        var reply = new byte[10];
        connection.Receive(reply, out error);
        connection.Close();
        sim.RunUntil(() => connection.State == TcpConnectionState.TimeWait, TimeSpan.FromSeconds(5));

        Assert.Equal("hello, tcp"u8.ToArray(), reply);
        Assert.Equal(StackError.None, error);
        Assert.Equal(TcpConnectionState.TimeWait, connection.State);
    }
}
