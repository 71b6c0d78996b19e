// RFC 5681 3.2 fast retransmit / fast recovery with RFC 6582's NewReno partial ACKs: loss
// recovery for a connection whose peer did not agree to SACK.
using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>
/// Without SACK the third duplicate ACK says the segment at SND.UNA is lost; each further
/// duplicate ACK says one segment has left the network, and each partial ACK that the next
/// unacknowledged segment is lost too.
/// </summary>
internal sealed class NewRenoRecovery : LossRecovery
{
    private int _renoSacked; // segments the duplicate ACKs say have left the network

    public NewRenoRecovery(TcpConnection connection, int sendBufferCapacity)
        : base(connection, sendBufferCapacity)
    {
    }

    protected override bool DuplicateAcksShowLoss => DupAcks >= DupThresh;

    /// <summary>
    /// RFC 6675 4 SetPipe without SACK: outside recovery the flight; in recovery the flight less
    /// the segments the duplicate ACKs accounted for, less the first segment until it is
    /// retransmitted.
    /// </summary>
    public override int Pipe()
    {
        TcpSender sender = Sender;
        int flight = sender.Nxt - sender.Una;
        if (!InRecovery)
        {
            return flight;
        }

        int mss = Connection.Mss;
        int pipe = flight - (_renoSacked * mss);
        if (HighRxt <= sender.Una)
        {
            pipe -= Math.Min(mss, flight);
        }

        return Math.Max(0, pipe);
    }

    // RFC 6937 3: without SACK each duplicate ACK stands for one delivered segment.
    protected override int DeliveredAboveUna => _renoSacked * Connection.Mss;

    /// <summary>
    /// Without SACK each duplicate ACK before recovery stands for one segment that arrived above
    /// SND.UNA (Linux tcp_add_reno_sack counts it delivered then); RFC 3042's limited transmit
    /// sent one new segment for each.
    /// </summary>
    public override int DuplicateAckedBytes => InRecovery ? 0 : DupAcks * Connection.Mss;

    /// <summary>RFC 5681 2: every ACK that passes the checks (a)-(e) is a duplicate.</summary>
    public override bool IsDuplicateAck(bool sackNews) => true;

    // RFC 6582 3.2 step 4: a segment has left the network.
    protected override void OnDuplicateAckInRecovery() => _renoSacked++;

    // RFC 5681 3.2 step 3: the duplicate ACKs so far stand for segments that left the network.
    protected override void OnRecoveryEntered() => _renoSacked = DupAcks;

    protected override void OnRecoveryLeft() => _renoSacked = 0;

    // RFC 6582 3.2 step 5: the next unacknowledged segment is lost too; it goes at once ("retransmit
    // the first unacknowledged segment"), and the duplicate ACKs it accounted for shrink.
    protected override void OnPartialAck(int dataAcked)
    {
        int mss = Connection.Mss;
        _renoSacked = Math.Max(0, _renoSacked - (dataAcked + mss - 1) / mss);
        RetransmitNext(force: true);
    }

    // The segment at SND.UNA, once per partial ACK (or when forced).
    protected override bool TryNextLost(bool force, out SeqNumber start, out int length)
    {
        TcpSender sender = Sender;
        start = sender.Una;
        length = Math.Min(Connection.Mss, sender.Nxt - sender.Una);
        return !(HighRxt > sender.Una && !force);
    }
}
