// Model-based tests (CsCheck): random sequences of user calls, peer segments and waits, applied
// to a real connection (the test as the peer) and to TcpStateModel; after every step the states
// must agree. A failing sequence is shrunk to the shortest that still fails.
using CsCheck;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class TcpStateModelTests
{
    // All the application ever sends fits in the initial window, so that with NoDelay every byte
    // and the FIN leave at once, as the model assumes.
    private const int SendBudget = 10_000;

    [Fact]
    public void EstablishedConnection_RandomUserCallsPeerSegmentsAndWaits_StateFollowsRfc9293Diagram()
    {
        Gen.Const(() => (new ConnectionUnderTest(), new TcpStateModel()))
            .SampleModelBased(
                new[]
                {
                Gen.Int[1, 1000].Operation<ConnectionUnderTest, TcpStateModel>(n => $"send {n}", (a, n) => a.Send(n), (m, n) => m.Send(n)),
                Gen.Operation<ConnectionUnderTest, TcpStateModel>("shutdown", a => a.Shutdown(), m => m.Shutdown()),
                Gen.Operation<ConnectionUnderTest, TcpStateModel>("close", a => a.Close(), m => m.Close()),
                Gen.Int[1, 1000].Operation<ConnectionUnderTest, TcpStateModel>(n => $"peer data {n}", (a, n) => a.PeerData(n), (m, n) => m.PeerData()),
                Gen.Operation<ConnectionUnderTest, TcpStateModel>("peer fin", a => a.PeerFin(), m => m.PeerFin()),
                Gen.Operation<ConnectionUnderTest, TcpStateModel>("peer ack", a => a.PeerAcksEverything(), m => m.PeerAcksEverything()),
                Gen.Bool.Operation<ConnectionUnderTest, TcpStateModel>(rst => rst ? "peer rst" : "abort", (a, rst) => a.ResetOrAbort(rst), (m, rst) => (rst ? (Action)m.PeerReset : m.Abort)()),
                Gen.Operation<ConnectionUnderTest, TcpStateModel>("wait", a => a.Wait(), m => m.Wait(ConnectionUnderTest.WaitFor(m))),
                },
                equal: (a, m) => a.State == m.State && a.LastSendAccepted == m.LastSendAllowed,
                iter: int.TryParse(Environment.GetEnvironmentVariable("CsCheck_Iter"), out int iterations) ? iterations : 400,
                printActual: a => a.ToString(),
                printModel: m => m.ToString());
    }

    [Fact]
    public void FinWait2_ApplicationClosesAfterShutdown_OrphanEndsAfterTimeout()
    {
        // Shrunk from the model-based test: the orphan timer was armed only on entering
        // FIN-WAIT-2, so a close() after shutdown() left the connection there for ever.
        var a = new ConnectionUnderTest();
        a.Shutdown();
        a.PeerAcksEverything();
        Assert.Equal(TcpConnectionState.FinWait2, a.State);
        a.Close();
        a.Probe.Advance(TcpStateModel.FinWait2Timeout - TimeSpan.FromSeconds(1));
        Assert.Equal(TcpConnectionState.FinWait2, a.State);
        a.Probe.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpConnectionState.Closed, a.State);
        Assert.Equal(1, a.Probe[Counter.TcpFinWait2Timeouts]);
    }

    [Fact]
    public void TimeWait_ApplicationClosesThenAborts_WaitRunsOutOnItsTimer()
    {
        // Shrunk from the model-based test (seed 6bDn4R11bmR3): the connection reached TIME-WAIT
        // before the application closed it, and the abort after close ended the wait at once.
        var a = new ConnectionUnderTest();
        a.Shutdown();
        a.PeerAcksEverything();
        a.PeerFin();
        Assert.Equal(TcpConnectionState.TimeWait, a.State);
        a.Close();
        a.ResetOrAbort(peerReset: false);
        Assert.Equal(TcpConnectionState.TimeWait, a.State);
        a.Probe.Advance(TcpStateModel.TimeWait + TimeSpan.FromSeconds(1));
        Assert.Equal(TcpConnectionState.Closed, a.State);
    }

    /// <summary>A connection in ESTABLISHED with the test as its peer, driven one step at a time.</summary>
    private sealed class ConnectionUnderTest
    {
        private readonly RawPeer _peer = RawPeer.Established();
        private readonly TcpConnection _c;
        private SeqNumber _peerAck;
        private int _sent;

        public ConnectionUnderTest()
        {
            _c = _peer.Connection!;
            _c.NoDelay = true;
            _peerAck = _peer.StackNxt;
        }

        public Probe Probe => _peer.Probe;

        public TcpConnectionState State => _c.State;

        public bool LastSendAccepted { get; private set; } = true;

        // A long wait (past TIME-WAIT and the FIN-WAIT-2 timeout) when nothing of ours is
        // unacknowledged; otherwise a millisecond, so that no retransmission timeout changes the flight.
        public static TimeSpan WaitFor(TcpStateModel model) => model.Outstanding ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromSeconds(61);

        public void Send(int length)
        {
            length = Math.Min(length, SendBudget - _sent);
            _c.Send(new byte[length], out StackError error);
            LastSendAccepted = error == StackError.None;
            _sent += LastSendAccepted ? length : 0;
            Drain();
        }

        public void Shutdown()
        {
            _c.Shutdown();
            Drain();
        }

        public void Close()
        {
            _c.Close();
            Drain();
        }

        public void PeerData(int length)
        {
            if (_peerFin)
            {
                return;
            }

            _peer.Send(TcpFlags.Ack | TcpFlags.Psh, _peer.Nxt, _peerAck, new byte[length]);
            _peer.Nxt += length;
            _c.Receive(new byte[2000], out _); // the application reads at once
        }

        public void PeerFin()
        {
            if (_peerFin)
            {
                return;
            }

            _peerFin = true;
            _peer.Send(TcpFlags.Fin | TcpFlags.Ack, _peer.Nxt, _peerAck);
            _peer.Nxt += 1;
        }

        public void PeerAcksEverything()
        {
            _peerAck = _peer.StackNxt;
            _peer.Send(TcpFlags.Ack, _peer.Nxt, _peerAck);
        }

        public void ResetOrAbort(bool peerReset)
        {
            if (peerReset)
            {
                _peer.Send(TcpFlags.Rst, _peer.Nxt, default);
            }
            else
            {
                _c.Abort();
                Drain();
            }
        }

        public void Wait()
        {
            // Outstanding as the model counts it: data or a FIN the peer has not acknowledged.
            bool outstanding = _peer.StackNxt != _peerAck;
            _peer.Decode(_peer.Probe.Advance(outstanding ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromSeconds(61)));
        }

        public override string ToString() => $"{_c.State} sent {_sent} una-ack {_peerAck} stack-nxt {_peer.StackNxt}";

        private bool _peerFin;

        private void Drain() => _peer.Decode(_peer.Probe.Poll());
    }
}
