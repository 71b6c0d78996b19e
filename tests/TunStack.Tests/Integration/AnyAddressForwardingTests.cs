using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Tcp;

namespace TunStack.Tests.Integration;

/// <summary>
/// Any-address termination (NetworkStack.TcpForwarder / UdpForwarder): stack B takes connections and
/// datagrams that A sends to addresses B does not own, and answers from those addresses, as a
/// user-space forwarder (slirp4netns, gVisor's forwarders in tun2socks) does. Both stacks route
/// everything over their one link.
/// </summary>
public class AnyAddressForwardingTests
{
    private static readonly InternetEndpoint Foreign4 = new(InternetAddress.Parse("203.0.113.7"), 80);
    private static readonly InternetEndpoint Foreign6 = new(InternetAddress.Parse("2001:db8::7"), 443);

    private static TwoStacks Net(Action<StackOptions>? configure = null) => new(configure: o =>
    {
        o.Routes.Add(new Route(IpPrefix.Parse("0.0.0.0/0")));
        o.Routes.Add(new Route(IpPrefix.Parse("::/0")));
        configure?.Invoke(o);
    });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SynToForeignAddress_ForwarderAccepts_ConnectionFromOriginalDestinationCarriesDataBothWays(bool v6)
    {
        TwoStacks net = Net();
        InternetEndpoint destination = v6 ? Foreign6 : Foreign4;
        TcpConnection? server = null;
        TcpForwardRequest? seen = null;
        net.B.TcpForwarder = r =>
        {
            seen = r;
            server = r.Accept();
        };

        TcpConnection client = net.A.ConnectTcp(destination, out StackError error)!;
        Assert.Equal(StackError.None, error);
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Established && server?.State == TcpConnectionState.Established, TimeSpan.FromSeconds(5)));

        Assert.Equal(destination, seen!.Destination);
        Assert.Equal(client.Tuple.Local, seen.Source);
        Assert.False(seen.IsPending);
        Assert.Equal(destination, server!.Tuple.Local);
        Assert.Equal(destination, client.Tuple.Remote);

        client.Send("GET / HTTP/1.0\r\n\r\n"u8, out _);
        Assert.True(net.Simulation.RunUntil(() => server.Available == 18, TimeSpan.FromSeconds(1)));
        server.Send("HTTP/1.0 200 OK\r\n\r\n"u8, out _);
        Assert.True(net.Simulation.RunUntil(() => client.Available == 19, TimeSpan.FromSeconds(1)));
        Assert.Equal(1, net.B.Counters[Counter.TcpForwardRequests]);
        Assert.Equal(1, net.B.Counters[Counter.TcpForwardAccepted]);
        Assert.True(net.B.Counters[Counter.IpForeignDelivered] >= 3);
        Assert.Equal(0, net.B.PendingTcpForwards);
    }

    [Fact]
    public void SynToForeignAddress_NoForwarder_DroppedAsNotOurs()
    {
        TwoStacks net = Net();
        TcpConnection client = net.A.ConnectTcp(Foreign4, out _)!;
        net.Simulation.RunFor(TimeSpan.FromSeconds(2));

        Assert.Equal(TcpConnectionState.SynSent, client.State);
        Assert.True(net.B.Counters[Counter.Ipv4NotForUs] >= 2); // the SYN and its retransmission
        Assert.Equal(0, net.B.Counters[Counter.TcpForwardRequests]);
    }

    [Fact]
    public void ForwarderRejects_Rfc9293ClosedPortReset_ClientConnectionRefused()
    {
        TwoStacks net = Net();
        net.B.TcpForwarder = r => r.Reject();
        TcpConnection client = net.A.ConnectTcp(Foreign4, out _)!;

        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(2)));
        Assert.Equal(StackError.ConnectionRefused, client.Error);
        Assert.Equal(1, net.B.Counters[Counter.TcpForwardRejected]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwarderRejectsUnreachable_IcmpFromTheStacksOwnAddress_ClientHostUnreachable(bool v6)
    {
        TwoStacks net = Net();
        net.B.TcpForwarder = r => r.RejectUnreachable();
        TcpConnection client = net.A.ConnectTcp(v6 ? Foreign6 : Foreign4, out _)!;

        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(2)));
        Assert.Equal(StackError.HostUnreachable, client.Error);
        Assert.Equal(1, net.B.Counters[Counter.TcpForwardUnreachable]);
        Assert.Equal(1, net.B.Counters[Counter.IcmpErrorsSent]);
    }

    [Fact]
    public void DecisionLater_RetransmittedSynAbsorbed_AcceptThenCompletes()
    {
        TwoStacks net = Net();
        var pending = new List<TcpForwardRequest>();
        net.B.TcpForwarder = pending.Add;
        TcpConnection client = net.A.ConnectTcp(Foreign4, out _)!;

        net.Simulation.RunFor(TimeSpan.FromSeconds(1.5)); // the client's SYN and its first retransmission
        Assert.True(net.B.Counters[Counter.IpForeignDelivered] >= 2);
        TcpForwardRequest request = Assert.Single(pending);
        Assert.True(request.IsPending);
        Assert.Equal(1, net.B.PendingTcpForwards);

        TcpConnection server = request.Accept()!;
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Established && server.State == TcpConnectionState.Established, TimeSpan.FromSeconds(2)));
        Assert.Null(request.Accept()); // decided once
        Assert.Equal(1, net.B.Counters[Counter.TcpForwardRequests]);
    }

    [Fact]
    public void ForwarderDrops_ClientRetriesThenTimesOut_NothingKept()
    {
        TwoStacks net = Net(o => o.Tcp.MaxSynRetransmissions = 2);
        net.B.TcpForwarder = r => r.Drop();
        TcpConnection client = net.A.ConnectTcp(Foreign4, out _)!;

        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(30)));
        Assert.Equal(StackError.TimedOut, client.Error);
        Assert.Equal(3, net.B.Counters[Counter.TcpForwardDropped]); // each retransmitted SYN asked again, and was dropped again
        Assert.Equal(0, net.B.PendingTcpForwards);
    }

    [Fact]
    public void PendingAtTheirBound_FurtherSynsDroppedAndCounted_UntilTheDecisionTimeout()
    {
        TwoStacks net = Net(o =>
        {
            o.Tcp.MaxPendingForwards = 2;
            o.Tcp.ForwardDecisionTimeout = TimeSpan.FromSeconds(3);
        });
        var pending = new List<TcpForwardRequest>();
        net.B.TcpForwarder = pending.Add;
        for (int i = 0; i < 3; i++)
        {
            net.A.ConnectTcp(new InternetEndpoint(Foreign4.Address, (ushort)(8000 + i)), out _);
        }

        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(2, pending.Count);
        Assert.Equal(1, net.B.Counters[Counter.TcpForwardPendingOverflow]);

        // After the timeout the undecided two expire, and the third's retransmitted SYN is heard.
        net.Simulation.RunFor(TimeSpan.FromSeconds(4));
        Assert.False(pending[0].IsPending);
        Assert.Contains(pending, r => r.Destination.Port == 8002);
        Assert.True(net.B.Counters[Counter.TcpForwardDropped] >= 2);
    }

    [Fact]
    public void ForwarderSet_SynToOwnAddress_StillGoesToTheListener()
    {
        TwoStacks net = Net();
        int asked = 0;
        net.B.TcpForwarder = _ => asked++;
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7), 8, out _)!;
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 7), out _)!;

        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Established, TimeSpan.FromSeconds(2)));
        Assert.True(listener.TryAccept(out _));
        Assert.Equal(0, asked);
    }

    [Fact]
    public void ForwarderSet_SynToOwnAddressWithNoListener_GoesToTheForwarder()
    {
        TwoStacks net = Net();
        TcpForwardRequest? seen = null;
        net.B.TcpForwarder = r =>
        {
            seen = r;
            r.Accept();
        };
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8080), out _)!;

        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Established, TimeSpan.FromSeconds(2)));
        Assert.Equal(new InternetEndpoint(TwoStacks.B4, 8080), seen!.Destination);
        Assert.Equal(0, net.B.Counters[Counter.IpForeignDelivered]);
    }

    [Fact]
    public void ForwarderSet_SegmentOfNoConnectionToForeignAddress_ResetAsClosedPort()
    {
        TwoStacks net = Net();
        net.B.TcpForwarder = r => r.Accept();
        TcpConnection client = net.A.ConnectTcp(Foreign4, out _)!;
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Established, TimeSpan.FromSeconds(2)));

        // B forgets the connection (as after a restart): A's next data draws a reset.
        net.B.TcpForwarder = null;
        net.B.TcpForwarder = r => r.Drop();
        foreach (TcpConnection c in net.B.ListTcpConnections())
        {
            c.Abort();
        }

        net.Simulation.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.Equal(TcpConnectionState.Closed, client.State);
        Assert.Equal(StackError.ConnectionReset, client.Error);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DatagramToForeignAddress_UdpForwarderSeesIt_AnswerComesFromOriginalDestination(bool v6)
    {
        TwoStacks net = Net();
        var destination = new InternetEndpoint(InternetAddress.Parse(v6 ? "2001:db8::53" : "198.51.100.53"), 53);
        InternetEndpoint? seenFrom = null;
        InternetEndpoint? seenTo = null;
        string? seenText = null;
        net.B.UdpForwarder = (from, to, payload) =>
        {
            seenFrom = from;
            seenTo = to;
            seenText = System.Text.Encoding.ASCII.GetString(payload);
            Assert.Equal(StackError.None, net.B.SendUdp(to, from, "answer"u8));
        };

        var client = net.A.OpenUdp(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        Assert.Equal(StackError.None, client.SendTo("query"u8, destination));
        var buffer = new byte[64];
        InternetEndpoint replyFrom = default;
        int n = 0;
        Assert.True(net.Simulation.RunUntil(() => client.TryReceiveFrom(buffer, out n, out _, out replyFrom), TimeSpan.FromSeconds(1)));

        Assert.Equal("query", seenText);
        Assert.Equal(destination, seenTo);
        Assert.Equal(client.LocalEndpoint!.Value.Port, seenFrom!.Value.Port);
        Assert.Equal(destination, replyFrom);
        Assert.Equal("answer", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(1, net.B.Counters[Counter.UdpForwarded]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EchoRequestToForeignAddress_EchoForwarderSeesIt_ReplyComesFromOriginalDestination(bool v6)
    {
        TwoStacks net = Net();
        InternetAddress destination = InternetAddress.Parse(v6 ? "2001:db8::1" : "198.51.100.1");
        (InternetAddress From, InternetAddress To, ushort Id, ushort Seq, string Data)? seen = null;
        net.B.IcmpEchoForwarder = (from, to, id, seq, data) =>
        {
            seen = (from, to, id, seq, System.Text.Encoding.ASCII.GetString(data));
            Assert.Equal(StackError.None, net.B.SendEchoReply(to, from, id, seq, data));
        };

        IcmpEchoEndpoint ping = net.A.OpenEcho(0x4242)!;
        Assert.Equal(StackError.None, ping.SendRequest(destination, 7, "ping data"u8));
        var buffer = new byte[64];
        InternetAddress replyFrom = default;
        ushort sequence = 0;
        int length = 0;
        Assert.True(net.Simulation.RunUntil(() => ping.TryReceiveReply(buffer, out replyFrom, out sequence, out length), TimeSpan.FromSeconds(1)));

        Assert.Equal((v6 ? TwoStacks.A6 : TwoStacks.A4, destination, (ushort)0x4242, (ushort)7, "ping data"), seen);
        Assert.Equal(destination, replyFrom);
        Assert.Equal(7, sequence);
        Assert.Equal("ping data", System.Text.Encoding.ASCII.GetString(buffer, 0, length));
        Assert.Equal(1, net.B.Counters[Counter.IcmpEchoForwarded]);
    }

    [Fact]
    public void EchoForwarderSet_EchoToOwnAddress_AnsweredByTheStackItself()
    {
        TwoStacks net = Net();
        int asked = 0;
        net.B.IcmpEchoForwarder = (_, _, _, _, _) => asked++;
        IcmpEchoEndpoint ping = net.A.OpenEcho(1)!;
        ping.SendRequest(TwoStacks.B4, 1, "x"u8);
        var buffer = new byte[8];
        Assert.True(net.Simulation.RunUntil(() => ping.TryReceiveReply(buffer, out _, out _, out _), TimeSpan.FromSeconds(1)));
        Assert.Equal(0, asked);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UdpForwarderSaysPortUnreachable_ConnectedClientEndpoint_Rfc1122Sec4_1_3_1_ReportsConnectionRefused(bool v6)
    {
        TwoStacks net = Net();
        var destination = new InternetEndpoint(InternetAddress.Parse(v6 ? "2001:db8::9" : "198.51.100.9"), 9999);
        net.B.UdpForwarder = (from, to, _) => net.B.SendUdpPortUnreachable(from, to);
        var client = net.A.OpenUdp(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        Assert.Equal(StackError.None, client.Connect(destination));
        Assert.Equal(StackError.None, client.SendTo("anyone?"u8));

        Assert.True(net.Simulation.RunUntil(() => net.A.Counters[Counter.UdpIcmpErrors] == 1, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.ConnectionRefused, client.TakePendingError());
        Assert.Equal(1, net.B.Counters[Counter.IcmpErrorsSent]);
    }

    [Fact]
    public void UdpForwarderOnly_TcpToForeignAddress_StillNotOurs()
    {
        TwoStacks net = Net();
        net.B.UdpForwarder = (_, _, _) => { };
        net.A.ConnectTcp(Foreign4, out _);
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));

        Assert.Equal(1, net.B.Counters[Counter.Ipv4NotForUs]);
        Assert.Equal(0, net.B.Counters[Counter.TcpNoConnection]);
    }
}
