// docs/examples/DelayAimdCongestionControl.cs: a congestion control written against the public
// API (docs/congestion-control.md). Slow start until the RTT shows a queue; then one segment more
// per round trip while the RTT stays within a quarter of the lowest seen, and a fifth less (once
// a round) when it does not; half on a loss. It paces at 1.2 x cwnd / lowest RTT.
using System;
using TunStack.Tcp.Congestion;

namespace TunStack.Examples;

public sealed class DelayAimdCongestionControl : CongestionControl
{
    /// <summary>The name it is registered and selected by.</summary>
    public const string RegisteredName = "delay-aimd";

    private long _ackedThisRound;
    private bool _reducedThisRound;

    public DelayAimdCongestionControl(int mss)
        : base(mss)
    {
    }

    public override void OnAck(in CongestionAck ack)
    {
        if (ack.InRecovery)
        {
            return; // the stack sets cwnd during fast recovery (Proportional Rate Reduction)
        }

        if (ack.RoundEnd)
        {
            _reducedThisRound = false;
        }

        bool queueing = ack.RttSample > TimeSpan.Zero && ack.MinRtt != TimeSpan.MaxValue && ack.RttSample > ack.MinRtt * 1.25;
        if (queueing && !_reducedThisRound)
        {
            Cwnd = Math.Max(4 * Mss, Cwnd * 4 / 5);
            Ssthresh = Cwnd; // slow start is over
            _reducedThisRound = true;
        }
        else if (!queueing && ack.WindowMayGrow)
        {
            if (InSlowStart)
            {
                SlowStart(ack.AckedBytes);
            }
            else if ((_ackedThisRound += ack.AckedBytes) >= Cwnd)
            {
                _ackedThisRound -= Cwnd;
                Cwnd += Mss;
            }
        }

        if (ack.MinRtt != TimeSpan.MaxValue)
        {
            PacingRate = 1.2 * Cwnd / ack.MinRtt.TotalSeconds;
        }
    }

    // Also what an ECN echo does: CongestionControl.OnCongestionExperienced calls OnLoss unless overridden.
    public override void OnLoss(int flightSize, TunStack.Instant now)
    {
        Ssthresh = Math.Max(Math.Min(flightSize, Cwnd) / 2, 2 * Mss);
        Cwnd = Ssthresh;
        _ackedThisRound = 0;
    }
}
