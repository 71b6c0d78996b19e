using TunStack.Tcp;

namespace TunStack.Tests.Tcp;

/// <summary>
/// A reference model of RFC 9293's state diagram (3.3.2) from ESTABLISHED on, for one connection
/// whose peer is the test: what the user calls (send, shutdown, close, abort) and the peer's
/// segments (data, FIN, ACK of everything, RST at RCV.NXT) and the passing of time do to the state.
/// Linux's choices where RFC 9293 leaves room: data for an application that has closed draws a
/// reset, an orphan (closed by the application) waits at most 60 s in FIN-WAIT-2, counted
/// from entering it or from the close, whichever is later, and an abort after close leaves a
/// TIME-WAIT to run out.
/// </summary>
internal sealed class TcpStateModel
{
    public static readonly TimeSpan TimeWait = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan FinWait2Timeout = TimeSpan.FromSeconds(60);

    public TcpConnectionState State { get; private set; } = TcpConnectionState.Established;

    /// <summary>Whether the last send the application made was allowed.</summary>
    public bool LastSendAllowed { get; private set; } = true;

    /// <summary>Data or a FIN of ours the peer has not acknowledged.</summary>
    public bool Outstanding => _unacked || (_finSent && !_finAcked);

    private bool _unacked, _finSent, _finAcked, _peerFin, _closedByApplication;
    private TimeSpan _now, _stateEnds = TimeSpan.MaxValue;

    public bool PeerFinSent => _peerFin;

    public void Send(int length)
    {
        LastSendAllowed = State is TcpConnectionState.Established or TcpConnectionState.CloseWait && !_finSent && !_closedByApplication;
        _unacked |= LastSendAllowed && length > 0;
    }

    public void Shutdown() => SendFin();

    public void Close()
    {
        if (State is TcpConnectionState.Closed or TcpConnectionState.TimeWait)
        {
            _closedByApplication = true;
            return;
        }

        _closedByApplication = true;
        SendFin();
        if (State == TcpConnectionState.FinWait2)
        {
            _stateEnds = _now + FinWait2Timeout; // Linux tcp_close in FIN_WAIT2 arms the timeout
        }
    }

    public void Abort()
    {
        // After close, a TIME-WAIT belongs to the stack (a record in its table, as Linux's
        // timewait sock): the application's abort no longer reaches it, and it ends on its timer.
        if (State == TcpConnectionState.TimeWait && _closedByApplication)
        {
            return;
        }

        Enter(TcpConnectionState.Closed);
    }

    public void PeerData()
    {
        if (State == TcpConnectionState.Closed || _peerFin)
        {
            return;
        }

        if (_closedByApplication)
        {
            Enter(TcpConnectionState.Closed); // RFC 1122 4.2.2.13 as Linux: no one will read it
        }
    }

    public void PeerFin()
    {
        if (State == TcpConnectionState.Closed || _peerFin)
        {
            return;
        }

        _peerFin = true;
        switch (State)
        {
            case TcpConnectionState.Established: Enter(TcpConnectionState.CloseWait); break;
            case TcpConnectionState.FinWait1: Enter(TcpConnectionState.Closing); break;
            case TcpConnectionState.FinWait2: Enter(TcpConnectionState.TimeWait); break;
        }
    }

    public void PeerAcksEverything()
    {
        if (State == TcpConnectionState.Closed)
        {
            return;
        }

        _unacked = false;
        if (_finSent && !_finAcked)
        {
            _finAcked = true;
            switch (State)
            {
                case TcpConnectionState.FinWait1: Enter(TcpConnectionState.FinWait2); break;
                case TcpConnectionState.Closing: Enter(TcpConnectionState.TimeWait); break;
                case TcpConnectionState.LastAck: Enter(TcpConnectionState.Closed); break;
            }
        }
    }

    // RFC 9293 3.10.7.4 second check: a reset at RCV.NXT closes every synchronized state, TIME-WAIT included.
    public void PeerReset() => Enter(TcpConnectionState.Closed);

    public void Wait(TimeSpan duration)
    {
        _now += duration;
        if (_now >= _stateEnds)
        {
            Enter(TcpConnectionState.Closed);
        }
    }

    private void SendFin()
    {
        if (_finSent || State is not (TcpConnectionState.Established or TcpConnectionState.CloseWait))
        {
            return;
        }

        _finSent = true; // with no data waiting behind the window, the FIN leaves at once
        Enter(State == TcpConnectionState.Established ? TcpConnectionState.FinWait1 : TcpConnectionState.LastAck);
    }

    private void Enter(TcpConnectionState next)
    {
        if (next == State)
        {
            return;
        }

        State = next;
        _stateEnds = next switch
        {
            TcpConnectionState.TimeWait => _now + TimeWait,
            TcpConnectionState.FinWait2 when _closedByApplication => _now + FinWait2Timeout,
            _ => TimeSpan.MaxValue,
        };
    }

    public override string ToString() => $"{State} fin {(_finSent ? _finAcked ? "acked" : "sent" : "-")} peer-fin {_peerFin} closed {_closedByApplication} t {_now.TotalSeconds}s";
}
