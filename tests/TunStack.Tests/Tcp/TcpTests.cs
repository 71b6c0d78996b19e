using System.Security.Cryptography;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tests.Integration;

namespace TunStack.Tests.Tcp;

/// <summary>Two stacks over a MemoryLink on a virtual clock: the RFC 9293 engine end to end.</summary>
public class TcpTests
{
    internal static (TwoStacks Net, TcpConnection Client, TcpConnection Server) Connected(TwoStacks? net = null, bool v6 = false, int port = 8080)
    {
        net ??= new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(v6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4, (ushort)port), 16, out StackError e)!;
        Assert.Equal(StackError.None, e);
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(v6 ? TwoStacks.B6 : TwoStacks.B4, (ushort)port), out e)!;
        Assert.Equal(StackError.None, e);
        Assert.Equal(TcpConnectionState.SynSent, client.State);
        Assert.True(net.Simulation.RunUntil(() => listener.PendingCount > 0 && client.State == TcpConnectionState.Established, TimeSpan.FromSeconds(5)));
        Assert.True(listener.TryAccept(out TcpConnection? server));
        Assert.Equal(TcpConnectionState.Established, server!.State);
        return (net, client, server);
    }

    /// <summary>Moves <paramref name="data"/> from one side to the other, reading as it arrives.</summary>
    internal static byte[] Transfer(Simulation sim, TcpConnection from, TcpConnection to, byte[] data, TimeSpan timeout, Action<int>? onProgress = null)
    {
        var received = new MemoryStream();
        var buffer = new byte[65536];
        int offset = 0;
        Instant end = sim.Clock.Now + timeout;
        while (received.Length < data.Length && sim.Clock.Now < end)
        {
            if (offset < data.Length)
            {
                offset += from.Send(data.AsSpan(offset), out StackError error);
                Assert.Equal(StackError.None, error);
                onProgress?.Invoke(offset);
            }

            int n;
            while ((n = to.Receive(buffer, out _)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            // Time moves on only when neither end can make progress now: nothing to read, and no
            // room for more data (an ACK that the settling delivered may have just made some).
            Instant next = sim.Settle();
            if (next > sim.Clock.Now && to.Available == 0 && (offset == data.Length || from.SendSpace == 0))
            {
                sim.AdvanceTo(Instant.Min(next, end));
            }
        }

        return received.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ThreeWayHandshake_Rfc9293Sec3_5_BothEstablished(bool v6)
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected(v6: v6);
        Assert.Equal(client.Tuple.Local, server.Tuple.Remote);
        // MSS from the MTU (1460 / 1440), less 12 bytes of timestamp option on every segment.
        Assert.Equal(1448 - (v6 ? 20 : 0), client.Mss);
        Assert.True(client.TimestampsEnabled && client.SackEnabled && client.WindowScalingEnabled);
        Assert.True(server.TimestampsEnabled && server.SackEnabled && server.WindowScalingEnabled);
        Assert.Equal(1, net.A.Counters[Counter.TcpActiveOpens]);
        Assert.Equal(1, net.B.Counters[Counter.TcpPassiveOpens]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BulkTransfer_BothDirections_Sha256Matches(bool v6)
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected(v6: v6);
        var data = new byte[8 * 1024 * 1024];
        new Random(1).NextBytes(data);
        byte[] atServer = Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(5));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(atServer));
        byte[] atClient = Transfer(net.Simulation, server, client, data, TimeSpan.FromMinutes(5));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(atClient));
        Assert.Equal(0, net.A.Counters[Counter.TcpRetransmits] + net.B.Counters[Counter.TcpRetransmits]);
    }

    [Fact]
    public void HundredMegabytesEachWay_Sha256Matches()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        var data = new byte[100 * 1000 * 1000];
        new Random(9).NextBytes(data);
        byte[] expected = SHA256.HashData(data);
        Assert.Equal(expected, SHA256.HashData(Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(30))));
        Assert.Equal(expected, SHA256.HashData(Transfer(net.Simulation, server, client, data, TimeSpan.FromMinutes(30))));
    }

    [Fact]
    public void GracefulClose_Rfc9293Sec3_6_ActiveCloserEndsInTimeWaitFor2Msl()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        client.Close();
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.FinWait2 && server.State == TcpConnectionState.CloseWait, TimeSpan.FromSeconds(1)));
        Assert.Equal(0, server.Receive(new byte[10], out StackError eof));
        Assert.Equal(StackError.None, eof); // end of stream
        Assert.True(server.PeerClosed);
        server.Close();
        Assert.True(net.Simulation.RunUntil(() => server.State == TcpConnectionState.Closed && client.State == TcpConnectionState.TimeWait, TimeSpan.FromSeconds(1)));
        Assert.Equal((0, 1), net.A.TcpConnections); // the closed connection's TIME-WAIT is a record, not a connection
        net.Simulation.RunFor(TimeSpan.FromSeconds(59));
        Assert.Equal(TcpConnectionState.TimeWait, client.State);
        net.Simulation.RunFor(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpConnectionState.Closed, client.State);
        Assert.Equal((0, 0), net.A.TcpConnections);
    }

    [Fact]
    public void Established_PeerFinAndServerClosesFromReadable_Rfc9293Sec3_6_PassiveCloseThroughLastAckNoTimeWait()
    {
        // An echo server: it answers from its Readable callback and closes there at end of stream.
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        var states = new List<TcpConnectionState>();
        server.StateChanged += s => states.Add(s);
        var buffer = new byte[100];
        server.Readable = () =>
        {
            int n;
            while ((n = server.Receive(buffer, out _)) > 0)
            {
                server.Send(buffer.AsSpan(0, n), out _);
            }

            if (server.PeerClosed)
            {
                server.Close();
            }
        };
        long sentBefore = net.B.Counters[Counter.TcpSent];
        client.Send("x"u8, out _);
        Assert.True(net.Simulation.RunUntil(() => client.Available == 1, TimeSpan.FromSeconds(1)));
        Assert.Equal(1, client.Receive(buffer, out _));
        client.Close();
        Assert.True(net.Simulation.RunUntil(() => server.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(1)));

        Assert.Equal(new[] { TcpConnectionState.CloseWait, TcpConnectionState.LastAck, TcpConnectionState.Closed }, states);
        Assert.Equal(0, net.B.TcpConnections.TimeWait);
        Assert.Equal(1, net.A.TcpConnections.TimeWait); // the active closer waits, as it should

        // Two segments from the server: the echo (acknowledging the request) and its FIN
        // (acknowledging the client's FIN); no pure ACK before either.
        Assert.Equal(2, net.B.Counters[Counter.TcpSent] - sentBefore);
    }

    [Fact]
    public void SimultaneousClose_Rfc9293Figure13_BothThroughClosingToTimeWait()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        client.Close();
        server.Close();
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.TimeWait && server.State == TcpConnectionState.TimeWait, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void HalfClose_ShutdownSend_PeerStillSendsAndWeRead()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        client.Shutdown();
        Assert.True(net.Simulation.RunUntil(() => server.PeerClosed, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.Closed, Send(client, "x"u8));
        Assert.Equal(StackError.None, Send(server, "still talking"u8));
        Assert.True(net.Simulation.RunUntil(() => client.Available == 13, TimeSpan.FromSeconds(1)));
        var buffer = new byte[32];
        Assert.Equal(13, client.Receive(buffer, out _));
    }

    private static StackError Send(TcpConnection c, ReadOnlySpan<byte> data)
    {
        c.Send(data, out StackError e);
        return e;
    }

    [Fact]
    public void ConnectToClosedPort_Rfc9293Sec3_10_7_1_RstThenConnectionRefused()
    {
        var net = new TwoStacks();
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 9999), out _)!;
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.ConnectionRefused, client.Error);
        Assert.Equal(1, net.B.Counters[Counter.TcpNoConnection]);
    }

    [Fact]
    public void ConnectWithNoAnswer_SynRetriesWithBackoff_TimedOut()
    {
        // RFC 6298 5.5: the timer doubles: 1+2+4+8+16+32+64 s for 6 retries.
        var net = new TwoStacks(wrapA: link => new ImpairedLink(link, Impairment.None, new Impairment { LossPercent = 100 }, 1));
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 80), out _)!;
        net.Simulation.RunFor(TimeSpan.FromSeconds(126));
        Assert.Equal(TcpConnectionState.SynSent, client.State);
        net.Simulation.RunFor(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpConnectionState.Closed, client.State);
        Assert.Equal(StackError.TimedOut, client.Error);
        Assert.Equal(6, net.A.Counters[Counter.TcpTimeouts]);
    }

    [Fact]
    public void CloseWithUnreadData_Rfc1122Sec4_2_2_13_SendsRst_PeerSeesReset()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        Send(client, "unread"u8);
        Assert.True(net.Simulation.RunUntil(() => server.Available == 6, TimeSpan.FromSeconds(1)));
        server.Close();
        Assert.Equal(TcpConnectionState.Closed, server.State);
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.ConnectionReset, client.Error);
        Assert.Equal(StackError.ConnectionReset, Send(client, "more"u8));
        Assert.Equal(1, net.B.Counters[Counter.TcpAbortOnClose]);
    }

    [Fact]
    public void DataAfterApplicationClosed_Gets_Rst()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        server.Close();
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.CloseWait, TimeSpan.FromSeconds(1)));
        Send(client, "too late"u8);
        Assert.True(net.Simulation.RunUntil(() => client.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.BrokenPipe, client.Error); // a reset in CLOSE-WAIT, as Linux's tcp_reset (EPIPE)
        Assert.Equal(1, net.B.Counters[Counter.TcpAbortOnData]);
    }

    [Fact]
    public void Abort_SendsRst_PeerReset()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = Connected();
        client.Abort();
        Assert.True(net.Simulation.RunUntil(() => server.State == TcpConnectionState.Closed, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.ConnectionReset, server.Error);
    }

    [Fact]
    public void LossyLink_TwoPercentLoss_LossesRepairedByFastRecovery_TransferExact()
    {
        var loss = new Impairment { LossPercent = 2, Delay = TimeSpan.FromMilliseconds(5) };
        var net = new TwoStacks(wrapA: link => new ImpairedLink(link, loss, loss, 11));
        (_, TcpConnection client, TcpConnection server) = Connected(net);
        var data = new byte[512 * 1024];
        new Random(2).NextBytes(data);
        byte[] got = Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(20));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        // RFC 6675/5681 3.2: with SACK, losses are found by the scoreboard and repaired without waiting for the RTO.
        Assert.True(net.A.Counters[Counter.TcpFastRecoveries] > 0);
        Assert.True(net.A.Counters[Counter.TcpFastRetransmits] > 0);
    }

    [Fact]
    public void ReorderAndDuplication_OutOfOrderQueueAndSack_TransferExactWithoutTimeouts()
    {
        var messy = new Impairment { ReorderPercent = 10, DuplicatePercent = 5, Delay = TimeSpan.FromMilliseconds(5) };
        var net = new TwoStacks(wrapA: link => new ImpairedLink(link, Impairment.None, messy, 21));
        (_, TcpConnection client, TcpConnection server) = Connected(net);
        var data = new byte[2 * 1024 * 1024];
        new Random(4).NextBytes(data);
        byte[] got = Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(5));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        Assert.True(net.B.Counters[Counter.TcpOutOfOrderQueued] > 0, "reordered segments were held, not dropped");
        Assert.Equal(0, net.B.Counters[Counter.TcpOutOfOrderDropped]);
    }

    [Fact]
    public void RttEstimate_Rfc6298_TracksPathDelay()
    {
        var delay = new Impairment { Delay = TimeSpan.FromMilliseconds(50) };
        var net = new TwoStacks(wrapA: link => new ImpairedLink(link, delay, delay, 1));
        (_, TcpConnection client, TcpConnection server) = Connected(net);
        Transfer(net.Simulation, client, server, new byte[100_000], TimeSpan.FromMinutes(1));
        Assert.InRange(client.SmoothedRtt.TotalMilliseconds, 95, 200);
        Assert.True(client.RetransmissionTimeout >= TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void ZeroWindow_ReceiverStopsReading_SenderProbesThenResumes()
    {
        var net = new TwoStacks(configure: o => { o.Tcp.ReceiveBufferSize = 16 * 1024; o.Tcp.AutoTuneBuffers = false; });
        (_, TcpConnection client, TcpConnection server) = Connected(net);
        var data = new byte[64 * 1024];
        new Random(3).NextBytes(data);
        int sent = client.Send(data, out _);
        net.Simulation.RunFor(TimeSpan.FromSeconds(10));
        Assert.Equal(16 * 1024, server.Available); // the window closed
        Assert.True(net.A.Counters[Counter.TcpWindowProbes] > 0);
        Assert.Equal(TcpConnectionState.Established, client.State);
        var result = new MemoryStream();
        var buffer = new byte[4096];
        int offset = sent;
        Instant end = net.Simulation.Clock.Now + TimeSpan.FromMinutes(2);
        while (result.Length < data.Length && net.Simulation.Clock.Now < end)
        {
            int n = server.Receive(buffer, out _);
            result.Write(buffer, 0, n);
            if (offset < data.Length)
            {
                offset += client.Send(data.AsSpan(offset), out _);
            }

            net.Simulation.RunFor(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(data, result.ToArray());
    }

    [Fact]
    public void Backlog5NoAcceptNoCookies_20Clients_ExtraSynsDroppedRetriedAllCompleteAfterAccept()
    {
        // listen(2) semantics as on Linux without SYN cookies: SYNs past the backlog are dropped
        // and counted; the clients retransmit them and complete once accept() makes room.
        var net = new TwoStacks(configure: o => o.Tcp.SynCookies = false);
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7000), 5, out _)!;
        var clients = Enumerable.Range(0, 20).Select(i => net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 7000), out _)!).ToList();
        net.Simulation.RunFor(TimeSpan.FromSeconds(2));
        Assert.Equal(5, listener.PendingCount);
        Assert.True(net.B.Counters[Counter.TcpSynQueueOverflow] + net.B.Counters[Counter.TcpListenOverflow] > 0);
        Assert.True(net.A.Counters[Counter.TcpTimeouts] > 0, "the clients retried their SYNs");
        var accepted = new List<TcpConnection>();
        Assert.True(net.Simulation.RunUntil(() =>
        {
            while (listener.TryAccept(out TcpConnection? c))
            {
                accepted.Add(c!);
            }

            return accepted.Count == 20 && clients.All(c => c.State == TcpConnectionState.Established);
        }, TimeSpan.FromMinutes(3)));
    }

    [Fact]
    public void Backlog5NoAcceptWithCookies_20Clients_AllCompleteWhenTheySendAfterAccept()
    {
        // With SYN cookies (the default) the overflow is answered statelessly; a cookie ACK that
        // finds the accept queue full is dropped (Linux), and the client's data completes it later.
        var net = new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7000), 5, out _)!;
        var clients = Enumerable.Range(0, 20).Select(i => net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 7000), out _)!).ToList();
        net.Simulation.RunFor(TimeSpan.FromSeconds(2));
        Assert.Equal(5, listener.PendingCount);
        Assert.True(net.B.Counters[Counter.TcpSynCookiesSent] > 0);
        foreach (TcpConnection c in clients)
        {
            c.Send("x"u8, out _);
        }

        var accepted = new List<TcpConnection>();
        Assert.True(net.Simulation.RunUntil(() =>
        {
            while (listener.TryAccept(out TcpConnection? c))
            {
                accepted.Add(c!);
            }

            return accepted.Count == 20 && accepted.All(s => s.Available == 1);
        }, TimeSpan.FromMinutes(3)));
    }

    [Fact]
    public void ListenErrors_PortInUse_NotOurAddress()
    {
        var net = new TwoStacks();
        Assert.NotNull(net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 80), 5, out _));
        Assert.Null(net.B.ListenTcp(new InternetEndpoint(TwoStacks.B4, 80), 5, out StackError inUse));
        Assert.Equal(StackError.AddressInUse, inUse);
        Assert.Null(net.B.ListenTcp(new InternetEndpoint(InternetAddress.Parse("10.9.9.9"), 81), 5, out StackError notOurs));
        Assert.Equal(StackError.AddressNotAvailable, notOurs);
        TcpAcceptor? ephemeral = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 0), 5, out _);
        Assert.InRange(ephemeral!.LocalEndpoint.Port, (ushort)32768, (ushort)60999);
    }

    [Fact]
    public void ManyConnections_EachEchoes()
    {
        var net = new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7), 1024, out _)!;
        var servers = new List<TcpConnection>();
        var echoBuffer = new byte[4096];
        listener.Readable = () =>
        {
            while (listener.TryAccept(out TcpConnection? s))
            {
                servers.Add(s!);
                s!.Readable = () =>
                {
                    int n;
                    while ((n = s.Receive(echoBuffer, out _)) > 0)
                    {
                        s.Send(echoBuffer.AsSpan(0, n), out _);
                    }
                };
            }
        };
        var clients = Enumerable.Range(0, 1000).Select(i => net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 7), out _)!).ToList();
        Assert.True(net.Simulation.RunUntil(() => clients.All(c => c.State == TcpConnectionState.Established), TimeSpan.FromSeconds(10)));
        for (int i = 0; i < clients.Count; i++)
        {
            clients[i].Send(BitConverter.GetBytes(i), out _);
        }

        Assert.True(net.Simulation.RunUntil(() => clients.All(c => c.Available == 4), TimeSpan.FromSeconds(10)));
        var four = new byte[4];
        for (int i = 0; i < clients.Count; i++)
        {
            clients[i].Receive(four, out _);
            Assert.Equal(i, BitConverter.ToInt32(four));
        }
    }
}
