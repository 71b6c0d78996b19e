// RFC 3168 6.1: Explicit Congestion Notification for one connection. What the handshake agreed,
// what the receiving half owes the peer (ECE until a CWR arrives) and what the sending half owes
// it (CWR on the next new data after a window reduction, at most one ECN reduction per window).
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// The ECN state of one connection. Set up by the handshake (<see cref="Negotiated"/>); after that
/// it marks outgoing segments (ECT(0), ECE, CWR) and reads arriving ones (CE, ECE, CWR).
/// </summary>
internal sealed class TcpEcn
{
    private readonly TcpConnection _c;
    private SeqNumber _reductionEnd;    // no second reduction before SND.UNA passes this
    private bool _reduced;

    public TcpEcn(TcpConnection connection) => _c = connection;

    /// <summary>Both SYNs agreed to ECN (RFC 3168 6.1.1).</summary>
    public bool Negotiated { get; private set; }

    /// <summary>Our SYN asked for ECN (ECE and CWR set); a retransmitted SYN does not ask again.</summary>
    public bool Requested { get; private set; }

    /// <summary>RFC 3168 6.1.3: a CE mark arrived and no CWR since: every ACK carries ECE.</summary>
    public bool EchoPending { get; private set; }

    /// <summary>RFC 3168 6.1.2: the window was reduced and the next new data segment carries CWR.</summary>
    public bool CwrPending { get; private set; }

    /// <summary>RFC 3168 6.1.1: a SYN asks for ECN when it carries both ECE and CWR.</summary>
    public static bool SynAsks(TcpFlags flags) => (flags & (TcpFlags.Ece | TcpFlags.Cwr)) == (TcpFlags.Ece | TcpFlags.Cwr);

    /// <summary>RFC 3168 6.1.1: a SYN-ACK agrees when it carries ECE without CWR (with both it is not an ECN-setup SYN-ACK).</summary>
    public static bool SynAckAgrees(TcpFlags flags) => (flags & (TcpFlags.Ece | TcpFlags.Cwr)) == TcpFlags.Ece;

    /// <summary>Whether this stack agrees when a peer's SYN asks (any mode but Off).</summary>
    public static bool Accepts(TcpSettings settings) => settings.Ecn != TcpEcnMode.Off;

    /// <summary>The flags of our SYN: ECE and CWR on the first SYN of an outgoing connection with <see cref="TcpEcnMode.RequestAndAccept"/>.</summary>
    public TcpFlags SynFlags(bool retransmission)
    {
        // RFC 3168 6.1.1.1: a SYN lost to a middlebox that drops ECN-setup SYNs is sent again
        // without asking (Linux's tcp_ecn_clear_syn does the same).
        Requested = !retransmission && _c.Layer.Settings.Ecn == TcpEcnMode.RequestAndAccept;
        return Requested ? TcpFlags.Ece | TcpFlags.Cwr : TcpFlags.None;
    }

    /// <summary>The flags of our SYN-ACK: ECE when the peer's SYN asked and we agreed.</summary>
    public TcpFlags SynAckFlags => Negotiated ? TcpFlags.Ece : TcpFlags.None;

    /// <summary>The peer's SYN (passive open or a cookie's) asked for ECN: agree if the settings allow.</summary>
    public void OnSyn(TcpFlags synFlags) => Negotiated = SynAsks(synFlags) && Accepts(_c.Layer.Settings);

    /// <summary>A SYN-ACK answered our SYN: ECN is on when we asked and it agreed.</summary>
    public void OnSynAck(TcpFlags flags) => Negotiated = Requested && SynAckAgrees(flags);

    /// <summary>A simultaneous open: ECN is on when both SYNs asked.</summary>
    public void OnSimultaneousSyn(TcpFlags flags) => Negotiated = Requested && SynAsks(flags);

    /// <summary>Set from a SYN cookie that carried the agreement.</summary>
    public void OnCookie(bool negotiated) => Negotiated = negotiated;

    /// <summary>The connection is established: counted when ECN was agreed.</summary>
    public void OnEstablished()
    {
        if (Negotiated)
        {
            _c.Layer.Counters.Increment(Counter.TcpEcnNegotiated);
        }
    }

    /// <summary>
    /// RFC 3168 6.1.3, for an acceptable segment: a CWR ends the echo; a CE mark on data starts it
    /// (after the CWR check, so a segment with both echoes again). Returns true when the segment is
    /// to be acknowledged at once: the first CE of an episode (so the sender hears of it within
    /// the round trip, as Linux's quick-ACK on CE), or data with CWR.
    /// </summary>
    public bool OnSegment(TcpFlags flags, int payloadLength, EcnCodepoint ecn)
    {
        if (!Negotiated)
        {
            return false;
        }

        bool ackNow = false;
        if ((flags & TcpFlags.Cwr) != 0)
        {
            _c.Layer.Counters.Increment(Counter.TcpCwrReceived);
            EchoPending = false;
            ackNow = payloadLength > 0;
        }

        if (ecn == EcnCodepoint.CongestionExperienced && payloadLength > 0)
        {
            _c.Layer.Counters.Increment(Counter.TcpCongestionExperiencedReceived);
            ackNow |= !EchoPending;
            EchoPending = true;
        }

        return ackNow;
    }

    /// <summary>
    /// RFC 3168 6.1.2: an ACK with ECE. The window is reduced as for a loss but without a
    /// retransmission, and only once per window of data: not while loss recovery (which already
    /// reduced it) runs, nor before the data outstanding at the last reduction is acknowledged.
    /// Returns true when this ACK reduced the window.
    /// </summary>
    public bool OnEcnEcho(TcpSender sender, bool inRecovery)
    {
        if (!Negotiated || inRecovery || ReducedInWindow(sender.Una))
        {
            return false;
        }

        sender.Congestion.OnCongestionExperienced(sender.Nxt - sender.Una, _c.Layer.Now);
        _c.Layer.Counters.Increment(Counter.TcpEcnEchoReductions);
        OnWindowReduced(sender.Max);
        return true;
    }

    /// <summary>
    /// An ECN reduction is still in its window: nothing above the data outstanding at the reduction
    /// is acknowledged yet (as Linux's CWR state, which lasts until SND.UNA passes high_seq, so that
    /// the CWR, sent on the first new data after it, has reached the receiver). A loss found in that
    /// window does not reduce again (Linux's tcp_enter_recovery).
    /// </summary>
    public bool ReducedInWindow(SeqNumber una) => _reduced && una <= _reductionEnd;

    /// <summary>
    /// The window was reduced (for an ECE, a fast retransmit or a timeout; RFC 3168 6.1.2): the next
    /// new data segment carries CWR, and ECEs for data sent before <paramref name="sentEnd"/> reduce no further.
    /// </summary>
    public void OnWindowReduced(SeqNumber sentEnd)
    {
        if (!Negotiated)
        {
            return;
        }

        _reduced = true;
        _reductionEnd = sentEnd;
        CwrPending = true;
    }

    /// <summary>
    /// The IP ECN field and extra flags of a segment to send. RFC 3168 6.1.2, 6.1.4, 6.1.5: only new
    /// data is ECN-capable (<paramref name="newData"/>): never a SYN, RST, pure ACK, window probe or
    /// retransmission. The first such segment after a reduction carries CWR.
    /// </summary>
    public EcnCodepoint DataCodepoint(bool newData, ref TcpFlags flags)
    {
        if (!Negotiated || !newData)
        {
            return EcnCodepoint.NotEct;
        }

        if (CwrPending)
        {
            CwrPending = false;
            flags |= TcpFlags.Cwr;
            _c.Layer.Counters.Increment(Counter.TcpCwrSent);
        }

        return EcnCodepoint.Ect0;
    }

    /// <summary>ECE for every non-SYN segment while a CE mark waits for the peer's CWR (RFC 3168 6.1.3).</summary>
    public TcpFlags EchoFlags => Negotiated && EchoPending ? TcpFlags.Ece : TcpFlags.None;
}
