// RFC 5681 3.1: NewReno's window (recovery itself, RFC 6582, is Recovery/NewRenoRecovery).
namespace TunStack.Tcp.Congestion;

/// <summary>RFC 5681 NewReno window: slow start, then one SMSS per cwnd of data acknowledged; halve on loss.</summary>
internal sealed class NewRenoCongestionControl : CongestionControl
{
    private long _bytesAckedInAvoidance;

    public NewRenoCongestionControl(int mss)
        : base(mss)
    {
    }

    public override void OnAck(in CongestionAck ack)
    {
        if (!ack.WindowMayGrow)
        {
            return; // in recovery PRR sets the window; an unused window does not grow
        }

        int ackedBytes = ack.AckedBytes;
        Instant now = ack.Now;
        if (InSlowStart)
        {
            SlowStart(ackedBytes);
            return;
        }

        // RFC 5681 3.1 (3): byte counting, cwnd += SMSS once a cwnd's worth has been acknowledged.
        _bytesAckedInAvoidance += ackedBytes;
        if (_bytesAckedInAvoidance >= Cwnd)
        {
            _bytesAckedInAvoidance -= Cwnd;
            Cwnd += Mss;
        }
    }

    public override void OnLoss(int flightSize, Instant now)
    {
        // RFC 5681 3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS). FlightSize no larger than cwnd:
        // data SACKed above a hole is not in flight, and RACK finds the loss only after such SACKs
        // let more data out (Linux halves cwnd).
        Ssthresh = Math.Max(ReductionBase(flightSize) / 2, 2 * Mss);
        Cwnd = Ssthresh;
        _bytesAckedInAvoidance = 0;
    }
}
