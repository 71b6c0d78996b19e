using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>RFC 4987 SYN cookies: a full SYN queue keeps answering, and only a valid returning ACK completes.</summary>
public class SynCookieTests
{
    private static (Probe Probe, TcpAcceptor Listener) FullSynQueue(int backlog = 2)
    {
        RawPeer listening = RawPeer.Listening(backlog: backlog);
        Probe probe = listening.Probe;
        TcpAcceptor listener = listening.Listener!;
        for (int i = 0; i < backlog; i++)
        {
            var filler = new RawPeer(probe) { SourcePort = (ushort)(30000 + i) };
            Assert.Single(filler.Send(TcpFlags.Syn, new SeqNumber(100), default));
        }

        Assert.Equal(backlog, listener.HalfOpenCount);
        return (probe, listener);
    }

    private static (RawPeer Peer, SentSegment SynAck) CookieHandshakeStart(Probe probe, bool timestamps, ushort port = 41000)
    {
        var peer = new RawPeer(probe) { SourcePort = port };
        TcpOptions syn = TcpOptions.None;
        syn.Mss = 1460;
        if (timestamps)
        {
            syn.WindowScale = 7;
            syn.SackPermitted = true;
            syn.HasTimestamps = true;
            syn.TimestampValue = 777;
        }

        SentSegment synAck = Assert.Single(peer.Send(TcpFlags.Syn, new SeqNumber(5000), default, options: syn));
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(port - 40999, probe[Counter.TcpSynCookiesSent]);
        peer.Nxt = new SeqNumber(5001);
        peer.StackNxt = synAck.Seq + 1;
        return (peer, synAck);
    }

    private static TcpOptions EchoTimestamps(SentSegment synAck)
    {
        TcpOptions o = TcpOptions.None;
        o.HasTimestamps = true;
        o.TimestampValue = 778;
        o.TimestampEcho = synAck.Options.TimestampValue;
        return o;
    }

    [Theory]
    [InlineData((byte)(TcpFlags.Ack), 0)]
    [InlineData((byte)(TcpFlags.Ack | TcpFlags.Psh), 5)]
    [InlineData((byte)(TcpFlags.Ack | TcpFlags.Fin), 0)]
    public void SynQueueFull_ReturningAck_Rfc4987Sec3_6_CompletesFromCookie(byte flagBits, int dataLength)
    {
        var flags = (TcpFlags)flagBits; // TcpFlags is internal; a public theory takes its bits
        (Probe probe, TcpAcceptor listener) = FullSynQueue();
        (RawPeer peer, SentSegment synAck) = CookieHandshakeStart(probe, timestamps: false);
        Assert.Equal(2, listener.HalfOpenCount); // no state was kept for the cookie
        peer.Send(flags, peer.Nxt, synAck.Seq + 1, "hello"u8[..dataLength]);
        Assert.True(listener.TryAccept(out TcpConnection? c));
        Assert.Equal(1, probe[Counter.TcpSynCookiesValid]);
        Assert.Equal(dataLength, c!.Available);
        Assert.Equal((flags & TcpFlags.Fin) != 0 ? TcpConnectionState.CloseWait : TcpConnectionState.Established, c.State);
        Assert.Equal(1460, c.Mss); // the cookie carried the client's MSS
    }

    [Theory]
    [InlineData((byte)(TcpFlags.Ack | TcpFlags.Syn))]
    [InlineData((byte)(TcpFlags.Rst))]
    [InlineData((byte)(TcpFlags.Rst | TcpFlags.Ack))]
    public void SynQueueFull_NonCompletingSegment_Rfc4987_NoConnection(byte flagBits)
    {
        var flags = (TcpFlags)flagBits; // TcpFlags is internal; a public theory takes its bits
        (Probe probe, TcpAcceptor listener) = FullSynQueue();
        (RawPeer peer, SentSegment synAck) = CookieHandshakeStart(probe, timestamps: false);
        peer.Send(flags, peer.Nxt, synAck.Seq + 1);
        Assert.False(listener.TryAccept(out _));
        Assert.Equal(0, probe[Counter.TcpSynCookiesValid]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(1 << 21)]
    [InlineData(-1)]
    public void ForgedCookie_NearTheRealOne_ResetAndCounted(int delta)
    {
        (Probe probe, TcpAcceptor listener) = FullSynQueue();
        (RawPeer peer, SentSegment synAck) = CookieHandshakeStart(probe, timestamps: false);
        SentSegment rst = Assert.Single(peer.Send(TcpFlags.Ack, peer.Nxt, synAck.Seq + 1 + delta));
        Assert.True(rst.Has(TcpFlags.Rst));
        Assert.False(listener.TryAccept(out _));
        Assert.Equal(1, probe[Counter.TcpSynCookiesInvalid]);
    }

    [Fact]
    public void CookieOlderThanTwoPeriods_Refused()
    {
        (Probe probe, TcpAcceptor listener) = FullSynQueue();
        (RawPeer peer, SentSegment synAck) = CookieHandshakeStart(probe, timestamps: false);
        probe.Advance(TimeSpan.FromSeconds(200));
        peer.Send(TcpFlags.Ack, peer.Nxt, synAck.Seq + 1);
        Assert.False(listener.TryAccept(out _));
    }

    [Fact]
    public void CookieWithTimestamps_WindowScaleAndSackCarriedInTsval_LikeLinux()
    {
        (Probe probe, TcpAcceptor listener) = FullSynQueue();
        // 64 clients: 64 cookies, so the option bits land both below and above the clock's own low bits.
        for (ushort port = 41000; port < 41064; port++)
        {
            (RawPeer peer, SentSegment synAck) = CookieHandshakeStart(probe, timestamps: true, port);
            Assert.True(synAck.Options.HasTimestamps, "timestamps");
            Assert.True(synAck.Options.SackPermitted, "sack-permitted");
            Assert.True(synAck.Options.WindowScale >= 0, "window scale");
            peer.Send(TcpFlags.Ack, peer.Nxt, synAck.Seq + 1, default, options: EchoTimestamps(synAck));
            Assert.True(listener.TryAccept(out TcpConnection? c), $"port {port}");
            Assert.True(c!.WindowScalingEnabled, "scaling");
            Assert.True(c.SackEnabled, "sack");
            Assert.True(c.TimestampsEnabled, "ts");
            // Our next timestamps continue from the SYN-ACK's, so the client's PAWS accepts them.
            c.Send("x"u8, out _);
            SentSegment data = Assert.Single(peer.Decode(probe.Poll()));
            Assert.True(unchecked((int)(data.Options.TimestampValue - synAck.Options.TimestampValue)) >= 0,
                $"port {port}: data TSval {data.Options.TimestampValue} behind the SYN-ACK's {synAck.Options.TimestampValue}");
        }
    }

    [Fact]
    public void ManyClients_SmallBacklog_CookiesKeepListenerAnswering_AllComplete()
    {
        var net = new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 8000), 4, out _)!;
        var accepted = new List<TcpConnection>();
        listener.Readable = () =>
        {
            while (listener.TryAccept(out TcpConnection? c))
            {
                accepted.Add(c!);
            }
        };
        var clients = Enumerable.Range(0, 40).Select(i => net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8000), out _)!).ToList();
        Assert.True(net.Simulation.RunUntil(() => accepted.Count == 40 && clients.All(c => c.State == TcpConnectionState.Established), TimeSpan.FromSeconds(30)));
        Assert.True(net.B.Counters[Counter.TcpSynCookiesValid] > 0);
        foreach (TcpConnection c in clients)
        {
            c.Send("ping"u8, out _);
        }

        Assert.True(net.Simulation.RunUntil(() => accepted.All(s => s.Available == 4), TimeSpan.FromSeconds(5)));
    }
}
