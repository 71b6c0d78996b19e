using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>TIME-WAIT of connections the application closed: compact records in the stack's table (RFC 9293 3.10.7.4, RFC 6191).</summary>
[Collection(nameof(TunStack.Tests.Sockets.ProcessWideAllocation))]
public class TimeWaitTests
{
    // Our FIN acknowledged, then the peer's FIN: the stack is in TIME-WAIT with the application gone.
    private static RawPeer InTimeWait(bool timestamps)
    {
        RawPeer p = RawPeer.Established(timestamps: timestamps);
        p.Connection!.Close();
        p.Decode(p.Probe.Poll());
        p.TsVal += 10;
        p.Send(TcpFlags.Ack);
        p.TsVal += 10;
        p.Send(TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(TcpConnectionState.TimeWait, p.Connection.State);
        return p;
    }

    private static TcpOptions SynOptions(uint? tsVal)
    {
        TcpOptions o = TcpOptions.None;
        o.Mss = 1460;
        if (tsVal is uint value)
        {
            o.HasTimestamps = true;
            o.TimestampValue = value;
        }

        return o;
    }

    [Fact]
    public void ClosedByApplication_PeerFinAfterOurs_RecordHoldsTheTupleConnectionLetGo()
    {
        RawPeer p = InTimeWait(timestamps: false);
        Assert.Equal((0, 1), p.Probe.Stack.TcpConnections); // no connection, one TIME-WAIT record
        Assert.Equal(1, p.Probe[Counter.TcpTimeWaits]);
        Assert.Equal(0, p.Probe.Stack.TcpMemory.InUseBytes);

        p.Probe.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal((0, 0), p.Probe.Stack.TcpConnections);
        Assert.Equal(TcpConnectionState.Closed, p.Connection!.State);
    }

    [Fact]
    public void TimeWaitBeforeClose_UnreadDataThenApplicationCloses_DataGoesBackToThePoolNoResetWaitRunsOn()
    {
        // Found by the fuzz target "pair": shutdown, the peer's data (left unread) and FIN, so
        // TIME-WAIT came before the close; the close then kept the unread data for the whole
        // wait. Linux's tcp_close purges the receive queue whatever the state, and from a state
        // past the FIN exchange sends no reset.
        RawPeer p = RawPeer.Established();
        p.Connection!.Shutdown();
        p.Decode(p.Probe.Poll());
        p.Send(TcpFlags.Ack);
        p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[1000]);
        p.Send(TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(TcpConnectionState.TimeWait, p.Connection.State);
        Assert.True(p.Probe.Stack.TcpMemory.InUseBytes > 0);

        p.Connection.Close();

        Assert.Empty(p.Probe.Poll());
        Assert.Equal(0, p.Connection.Available);
        Assert.Equal(0, p.Probe.Stack.TcpMemory.InUseBytes);
        Assert.Equal(TcpConnectionState.TimeWait, p.Connection.State);
        p.Probe.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal((0, 0), p.Probe.Stack.TcpConnections);
    }

    [Fact]
    public void TimeWaitRecord_ApplicationAbortsAfterClose_CountedOnceEndsAtItsTimeout()
    {
        // Found by the fuzz target "stack" (fuzz/findings/stack): Abort of a connection whose
        // TIME-WAIT had gone on as a record ended that TIME-WAIT a second time (count -1).
        RawPeer p = InTimeWait(timestamps: false);
        p.Connection!.Abort();
        Assert.Empty(p.Probe.Poll()); // RFC 9293 3.10.4: no reset from TIME-WAIT
        Assert.Equal((0, 1), p.Probe.Stack.TcpConnections);
        Assert.Equal(TcpConnectionState.TimeWait, p.Connection.State);

        p.Probe.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal((0, 0), p.Probe.Stack.TcpConnections);
    }

    [Fact]
    public void TimeWaitRecord_OldDuplicateData_Rfc9293Sec3_10_7_4_AckedWithOurTimestampClock()
    {
        RawPeer p = InTimeWait(timestamps: true);
        uint lastTsVal = p.StackTsVal;
        p.Probe.Advance(TimeSpan.FromSeconds(1));
        p.TsVal += 10;
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack, p.Nxt - 200, p.StackNxt, "duplicate"u8));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(p.Nxt, ack.Ack);
        Assert.Equal(p.StackNxt, ack.Seq);
        Assert.True(ack.Options.HasTimestamps);
        Assert.Equal(p.TsVal - 10, ack.Options.TimestampEcho); // TS.Recent: the FIN's TSval, not the unacceptable segment's
        Assert.InRange(ack.Options.TimestampValue - lastTsVal, 900u, 1100u); // the connection's TSval clock goes on
    }

    [Fact]
    public void TimeWaitRecord_OlderTimestamp_Rfc7323Sec5_3_PawsAckedAndDropped()
    {
        RawPeer p = InTimeWait(timestamps: true);
        p.TsVal -= 100;
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Fin | TcpFlags.Ack, p.Nxt - 1, p.StackNxt));
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(1, p.Probe[Counter.TcpPawsRejected]);
    }

    [Fact]
    public void TimeWaitRecord_SynWithNewerTimestamp_Rfc6191Sec2_NewIncarnationSynAcked()
    {
        RawPeer p = InTimeWait(timestamps: true);
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, p.Nxt - 5000, default, options: SynOptions(p.TsVal + 1)));
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(p.Nxt - 5000 + 1, synAck.Ack);
        Assert.Equal(1, p.Probe[Counter.TcpTimeWaitReopened]);
        Assert.Equal(0, p.Probe.Stack.TcpConnections.TimeWait);
    }

    [Fact]
    public void TimeWaitRecord_SynWithOlderTimestamp_Rfc6191Sec2_DroppedSilentlyWaitKept()
    {
        RawPeer p = InTimeWait(timestamps: true);
        Assert.Empty(p.Send(TcpFlags.Syn, p.Nxt + 100_000, default, options: SynOptions(p.TsVal - 1)));
        Assert.Equal(1, p.Probe.Stack.TcpConnections.TimeWait);
    }

    [Fact]
    public void TimeWaitRecord_SynWithHigherSequenceNoTimestamps_Rfc6191Sec2_NewIncarnationSynAcked()
    {
        RawPeer p = InTimeWait(timestamps: false);
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, p.Nxt + 100_000, default, options: SynOptions(null)));
        Assert.True(synAck.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(0, p.Probe.Stack.TcpConnections.TimeWait);
    }

    [Fact]
    public void TimeWaitRecord_SynWithLowerSequenceNoTimestamps_Rfc6191Sec2_DroppedSilently()
    {
        RawPeer p = InTimeWait(timestamps: false);
        Assert.Empty(p.Send(TcpFlags.Syn, p.Nxt - 10, default, options: SynOptions(null)));
        Assert.Equal(1, p.Probe.Stack.TcpConnections.TimeWait);
        Assert.Equal(TcpConnectionState.TimeWait, p.Connection!.State);
    }

    [Fact]
    public void TimeWaitRecord_HoldsTheLocalPort_ConnectToSameTupleRefusedUntilItEnds()
    {
        var net = new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 8080), 16, out _)!;
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8080), out _, TwoStacks.A4, 45000)!;
        Assert.True(net.Simulation.RunUntil(() => listener.PendingCount > 0, TimeSpan.FromSeconds(5)));
        Assert.True(listener.TryAccept(out TcpConnection? server));
        client.Close();
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
        server!.Close();
        Assert.True(net.Simulation.RunUntil(() => net.A.TcpConnections.TimeWait == 1 && net.B.TcpConnections.Connections == 0, TimeSpan.FromSeconds(5)));

        Assert.Null(net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8080), out StackError e, TwoStacks.A4, 45000));
        Assert.Equal(StackError.AddressInUse, e);

        net.Simulation.RunFor(TimeSpan.FromSeconds(61));
        Assert.NotNull(net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8080), out e, TwoStacks.A4, 45000));
        Assert.Equal(StackError.None, e);
    }

    [Fact]
    public void ThousandClosedConnections_InTimeWait_EachAFewHundredBytesNotAConnection()
    {
        var net = new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 8080), 2048, out _)!;
        // A first round to its end grows every table to its size (capacity a table keeps), so that
        // the second round measures what a TIME-WAIT holds.
        OpenAndClose(net, listener, 1000);
        net.Simulation.RunFor(TimeSpan.FromSeconds(61));
        Assert.Equal(0, net.A.TcpConnections.TimeWait);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        OpenAndClose(net, listener, 1000);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(1000, net.A.TcpConnections.TimeWait);
        Assert.Equal(0, net.A.TcpConnections.Connections);
        double perRecord = (after - before) / 1000.0;
        Assert.True(perRecord < 400, $"{perRecord:F0} bytes per TIME-WAIT (a connection is over 3,000)");
    }

    // Opens count connections, closes them from the client side (which ends in TIME-WAIT) and lets go of them.
    private static void OpenAndClose(TwoStacks net, TcpAcceptor listener, int count)
    {
        var clients = new List<TcpConnection>();
        for (int i = 0; i < count; i++)
        {
            clients.Add(net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8080), out _)!);
        }

        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
        var servers = new List<TcpConnection>();
        while (listener.TryAccept(out TcpConnection? s))
        {
            servers.Add(s!);
        }

        Assert.Equal(count, servers.Count);
        clients.ForEach(c => c.Close());
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
        servers.ForEach(s => s.Close());
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
    }
}
