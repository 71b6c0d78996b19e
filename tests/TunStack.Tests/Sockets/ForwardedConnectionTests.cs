using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

/// <summary>
/// StackHost.ForwardTcp / ForwardUdp: a host that terminates any address, and a client host whose
/// default route points at it, joined by a MemoryLink on the real clock. The forwarder decides with
/// ForwardedConnectionRequest from another thread, as a real one does after dialling out.
/// </summary>
public sealed class ForwardedConnectionTests : IDisposable
{
    private static readonly IPEndPoint Foreign = new(IPAddress.Parse("203.0.113.7"), 80);
    private readonly StackHost _client;
    private readonly StackHost _forwarder;

    public ForwardedConnectionTests()
    {
        (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair();
        _client = StackHost.Start(a, Options("10.8.0.100/24", defaultRoute: true), StackClock.Real, "forward-client");
        _forwarder = StackHost.Start(b, Options("10.8.0.2/24", defaultRoute: false), StackClock.Real, "forwarder");
    }

    private static StackOptions Options(string address, bool defaultRoute)
    {
        var o = new StackOptions();
        o.Addresses.Add(IpPrefix.Parse(address));
        if (defaultRoute)
        {
            o.Routes.Add(new Route(IpPrefix.Parse("0.0.0.0/0"), InternetAddress.Parse("10.8.0.2")));
        }

        return o;
    }

    public void Dispose()
    {
        _client.Dispose();
        _forwarder.Dispose();
    }

    [Fact]
    public async Task ForwardTcp_AcceptAsyncFromAnotherThread_ConnectedSocketAtOriginalDestinationEchoes()
    {
        var served = new TaskCompletionSource<(IPEndPoint Local, IPEndPoint Remote, IPEndPoint Source)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _forwarder.ForwardTcp(request => _ = Task.Run(async () =>
        {
            using StackSocket socket = await request.AcceptAsync();
            served.TrySetResult(((IPEndPoint)socket.LocalEndPoint!, (IPEndPoint)socket.RemoteEndPoint!, request.Source));
            var buffer = new byte[64];
            int n;
            while ((n = await socket.ReceiveAsync(buffer)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, n));
            }

            socket.Shutdown(SocketShutdown.Send);
        }));

        using StackSocket client = _client.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(Foreign).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await client.SendAsync("hello through"u8.ToArray());
        client.Shutdown(SocketShutdown.Send); // half-close: the reply still comes
        var received = new List<byte>();
        var chunk = new byte[64];
        int got;
        while ((got = await client.ReceiveAsync(chunk).AsTask().WaitAsync(TimeSpan.FromSeconds(10))) > 0)
        {
            received.AddRange(chunk.AsSpan(0, got).ToArray());
        }

        Assert.Equal("hello through", System.Text.Encoding.ASCII.GetString(received.ToArray()));
        (IPEndPoint local, IPEndPoint remote, IPEndPoint source) = await served.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Foreign, local);
        Assert.Equal(client.LocalEndPoint, remote);
        Assert.Equal(remote, source);
    }

    [Fact]
    public async Task ForwardTcp_Reject_ClientConnectRefused()
    {
        _forwarder.ForwardTcp(request => _ = Task.Run(request.Reject));
        using StackSocket client = _client.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        SocketException e = await Assert.ThrowsAsync<SocketException>(async () => await client.ConnectAsync(Foreign).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public async Task ForwardTcp_RejectUnreachable_ClientHostUnreachable()
    {
        _forwarder.ForwardTcp(request => request.RejectUnreachable());
        using StackSocket client = _client.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        SocketException e = await Assert.ThrowsAsync<SocketException>(async () => await client.ConnectAsync(Foreign).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(SocketError.HostUnreachable, e.SocketErrorCode);
    }

    [Fact]
    public async Task ForwardTcp_DecidedTwice_SecondAcceptThrowsInvalidArgument()
    {
        var decided = new TaskCompletionSource<ForwardedConnectionRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        _forwarder.ForwardTcp(request =>
        {
            request.Reject();
            decided.TrySetResult(request);
        });
        using StackSocket client = _client.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _ = client.ConnectAsync(Foreign).AsTask().ContinueWith(_ => { }, TaskScheduler.Default);

        ForwardedConnectionRequest request = await decided.Task.WaitAsync(TimeSpan.FromSeconds(10));
        SocketException e = await Assert.ThrowsAsync<SocketException>(async () => await request.AcceptAsync());
        Assert.Equal(SocketError.InvalidArgument, e.SocketErrorCode);
    }

    [Fact]
    public async Task ConnectFromAsync_ForeignLocalAddress_PeerSeesItAndAnswersReachBack()
    {
        _forwarder.ForwardTcp(request => request.Reject()); // any-address termination on: answers to 203.0.113.9 are taken
        using StackSocket listener = _client.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, 7));
        listener.Listen(4);
        var from = new IPEndPoint(IPAddress.Parse("203.0.113.9"), 5555);

        using StackSocket outgoing = await _forwarder.ConnectFromAsync(from, new IPEndPoint(IPAddress.Parse("10.8.0.100"), 7)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        using StackSocket accepted = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(from, accepted.RemoteEndPoint);
        Assert.Equal(from, outgoing.LocalEndPoint);
        await accepted.SendAsync("answer"u8.ToArray());
        var buffer = new byte[16];
        int n = await outgoing.ReceiveAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("answer", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
    }

    [Fact]
    public async Task ForwardUdp_AnswerWithSendUdp_ComesFromOriginalDestination()
    {
        var dns = new IPEndPoint(IPAddress.Parse("198.51.100.53"), 53);
        _forwarder.ForwardUdp((from, to, payload) => _forwarder.SendUdp(
            new IPEndPoint(to.Address.ToIPAddress(), to.Port), new IPEndPoint(from.Address.ToIPAddress(), from.Port), payload));

        using StackSocket client = _client.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.SendTo("ping"u8, dns);
        var buffer = new byte[16];
        SocketReceiveFromResult result = await client.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(dns, result.RemoteEndPoint);
        Assert.Equal("ping", System.Text.Encoding.ASCII.GetString(buffer, 0, result.ReceivedBytes));
    }
}
