// RFC 6675 loss recovery with SACK (RFC 2018): the scoreboard of SACKed ranges, D-SACK reports
// (RFC 2883), the pipe from per-segment marks, and NextSeg; losses are found by RACK (RFC 8985,
// RackTlp), not by counting duplicate ACKs.
using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>Loss recovery for a connection on which both ends agreed to SACK.</summary>
internal sealed class SackRecovery : LossRecovery
{
    private readonly SackScoreboard _scoreboard = new();

    public SackRecovery(TcpConnection connection, int sendBufferCapacity)
        : base(connection, sendBufferCapacity)
    {
        Rack = new RackTlp(this, connection);
    }

    /// <summary>RFC 8985 loss detection and tail loss probes.</summary>
    public RackTlp Rack { get; }

    /// <inheritdoc/>
    public override int Reordering => Rack.Reordering;

    public override int SackedBytes => _scoreboard.SackedBytes;

    protected override bool DuplicateAcksShowLoss => false; // RFC 8985: RACK finds losses by time

    /// <summary>
    /// RFC 6675 4 SetPipe with RFC 8985's marks: the flight less what is SACKed and what is deemed
    /// lost and not yet sent again (Linux's packets_out - sacked_out - lost_out + retrans_out, in bytes).
    /// </summary>
    public override int Pipe() => Math.Max(0, Sender.Nxt - Sender.Una - Log.SackedBytes - Log.LostBytes);

    /// <summary>A walk over the log entries that are not SACKed.</summary>
    public UnsackedEntries Unsacked() => new(Log, _scoreboard, Sender.Una, Sender.Max);

    // RFC 2018 / RFC 6675 2: record the peer's SACK blocks; true when one told something new.
    // RFC 2883: a first block below the cumulative ACK is a D-SACK (a duplicate arrived).
    public override bool OnSackBlocks(in TcpOptions received, SeqNumber ack)
    {
        bool news = false;
        TcpSender sender = Sender;
        StackCounters counters = Connection.Layer.Counters;
        for (int i = 0; i < received.SackCount; i++)
        {
            SackBlock block = received.GetSack(i);
            counters.Increment(Counter.TcpSackBlocksReceived);
            if (block.Right <= ack || (i == 0 && block.Right <= sender.Una))
            {
                counters.Increment(Counter.TcpDsackReceived);
                Rack.OnDuplicateReported();
                OnDuplicateReported(block);
                continue;
            }

            // Only what is in flight can be SACKed; anything else is ignored (RFC 6675 is silent;
            // Linux drops such blocks too).
            SeqNumber left = block.Left < ack ? ack : block.Left;
            SeqNumber right = block.Right > sender.Max ? sender.Max : block.Right;
            if (right <= left || block.Left > sender.Max)
            {
                continue;
            }

            int before = _scoreboard.Count;
            Log.MarkSacked(left, right, DeliveredCallback);
            if (_scoreboard.Add(left, right))
            {
                news = true;
            }
            else if (before == SackScoreboard.MaxRanges && !_scoreboard.IsSacked(left, right - left))
            {
                counters.Increment(Counter.TcpSackScoreboardFull);
            }
        }

        return news;
    }

    public override void OnCumulativeAck(SeqNumber ack)
    {
        _scoreboard.AdvanceTo(ack);
        base.OnCumulativeAck(ack);
    }

    /// <summary>RFC 6675 2: for a SACK sender an ACK is a duplicate only if it brings new SACK information.</summary>
    public override bool IsDuplicateAck(bool sackNews) => sackNews;

    public override void DetectLoss() => Rack.DetectLoss();

    public override bool CanProbe() => Rack.CanProbe();

    public override void SendLossProbe() => Rack.SendLossProbe();

    public override void OnRetransmitTimeout() => Rack.TlpInFlight = false;

    public override void Reset()
    {
        base.Reset();
        _scoreboard.Clear();
        Connection.Timers.Cancel(TcpTimer.RackReordering);
    }

    protected override void OnRecoveryEntered() => Rack.TlpInFlight = false;

    // RACK's newest delivered transmission, and the delivery rate.
    protected override void OnDelivered(SentSegments.Entry e)
    {
        Rack.OnDelivered(e);
        base.OnDelivered(e);
    }

    protected override void OnRecoveryLeft() => Rack.OnRecoveryLeft();

    protected override void OnSpuriousRecovery() => Rack.OnSpuriousRecovery();

    // RFC 6675 4 NextSeg rule 1: the lowest segment RACK marked lost.
    protected override bool TryNextLost(bool force, out SeqNumber start, out int length)
    {
        UnsackedEntries candidates = Unsacked();
        while (candidates.MoveNext())
        {
            ref SentSegments.Entry e = ref Log[candidates.Current];
            if (e.Is(SentSegments.Marks.Lost))
            {
                start = e.Start;
                length = Math.Min(Connection.Mss, e.Length);
                return true;
            }
        }

        start = default;
        length = 0;
        return false;
    }
}
