// RFC 9293 3.10.1 and 3.10.7.2-3: opening a connection. The SYN and SYN-ACK with their options,
// what both SYNs agree on (MSS, RFC 7323 window scale and timestamps, RFC 2018 SACK), the SYN-SENT
// state, and a handshake completed from a SYN cookie (RFC 4987 3.6).
using TunStack.Ip;
using TunStack.Tcp.Recovery;
using TunStack.Wire;

namespace TunStack.Tcp;

public sealed partial class TcpConnection
{
    // RFC 9293 3.10.1: active OPEN.
    internal void StartActive(TcpTuple tuple, SeqNumber iss)
    {
        Tuple = tuple;
        _tsOffset = iss.Value * 2654435761u; // RFC 7323 5.4: a per-connection timestamp offset
        Sender.Start(iss);
        _mss = Math.Max(MinSendMss, DefaultMss(tuple.Remote.Address));
        SetState(TcpConnectionState.SynSent);
        SendSyn(ack: false);
        Sender.ArmRetransmit();
    }

    // RFC 9293 3.10.7.2 (LISTEN) for the listener: a SYN opens a connection in SYN-RECEIVED.
    internal void StartPassive(TcpTuple tuple, TcpSegment syn, SeqNumber iss)
    {
        Tuple = tuple;
        _tsOffset = iss.Value * 2654435761u; // RFC 7323 5.4: a per-connection timestamp offset
        Receiver.Irs = syn.SequenceNumber;
        Receiver.Nxt = syn.SequenceNumber + 1;
        Receiver.LastAckSent = Receiver.Nxt; // the SYN-ACK acknowledges the SYN
        if (Acceptor is { MaxSegmentSize: > 0 } listener)
        {
            MaxSegmentSize = listener.MaxSegmentSize; // TCP_MAXSEG is inherited, as Linux's user_mss
        }

        Sender.Start(iss);
        ApplySynOptions(syn);
        Ecn.OnSyn(syn.Flags); // RFC 3168 6.1.1: the SYN-ACK agrees with ECE when the SYN asked
        Sender.SetWindow(syn.Window, syn.SequenceNumber, syn.AcknowledgmentNumber); // RFC 7323 2.2: the window in a SYN is never scaled
        SetState(TcpConnectionState.SynReceived);
        SendSyn(ack: true);
        Rtt.StartTiming(Sender.Iss, Layer.Now); // RFC 6298 2: the SYN-ACK's ACK is the first sample (as Linux's tcp_synack_rtt_meas)
        Sender.ArmRetransmit();
    }

    // RFC 4987 3.6: a handshake completed from a SYN cookie starts with what the cookie carried.
    internal void StartFromCookie(TcpTuple tuple, SeqNumber iss, SeqNumber irs, int mss, int windowScale, bool sack, bool ecn, in TcpOptions ackOptions)
    {
        Tuple = tuple;
        Receiver.Irs = irs;
        Receiver.Nxt = irs + 1;
        Receiver.LastAckSent = Receiver.Nxt;
        Sender.Start(iss);
        Sender.Una = iss + 1; // the cookie SYN-ACK is acknowledged by the ACK that completes the handshake
        _mss = Math.Max(MinSendMss, mss);
        NegotiateOptions(windowScale, sack, ackOptions.HasTimestamps, ackOptions.TimestampValue);
        Ecn.OnCookie(ecn);
        _tsOffset = iss.Value; // continues the TSval clock of the cookie SYN-ACK, so the peer's PAWS accepts us
        SetState(TcpConnectionState.SynReceived);
    }

    // Enters ESTABLISHED (waking the listener) and handles what the completing ACK carried (data, FIN).
    internal void EstablishFromCookie(TcpSegment ack, EcnCodepoint ecn)
    {
        Sender.SetWindow((uint)ack.Window << Sender.Shift, ack.SequenceNumber, ack.AcknowledgmentNumber);
        SetState(TcpConnectionState.Established);
        if (ack.Payload.Length > 0 || (ack.Flags & TcpFlags.Fin) != 0)
        {
            OnSegment(ack, ecn);
        }
    }

    /// <summary>The MSS this side advertises in its SYN (and the most it sends): the path's, or less where TCP_MAXSEG says so.</summary>
    public int AdvertisedMss => ClampToUserMss(Layer.MssFor(Tuple.Remote.Address), MaxSegmentSize);

    // Linux's TCP_MAXSEG (tp->rx_opt.user_mss): a clamp on what the path allows, never more.
    internal static int ClampToUserMss(int pathMss, int userMss) => userMss > 0 ? Math.Min(pathMss, userMss) : pathMss;

    private static int DefaultMss(InternetAddress remote) => remote.IsV6 ? 1220 : 536; // RFC 9293 3.7.1

    private void ApplySynOptions(TcpSegment syn)
    {
        TcpOptions options = TcpOptions.Parse(syn.Options);
        int ours = AdvertisedMss;
        // RFC 9293 3.7.1: an MSS of 0 is ignored (default used); tiny values are clamped up.
        int theirs = options.Mss == 0 ? DefaultMss(Tuple.Remote.Address) : options.Mss;
        _mss = Math.Max(MinSendMss, Math.Min(ours, theirs));
        NegotiateOptions(options.WindowScale, options.SackPermitted, options.HasTimestamps, options.TimestampValue);
    }

    private void NegotiateOptions(int windowScale, bool sack, bool timestamps, uint timestampValue)
    {
        // RFC 7323 2.2: window scaling only when both SYNs carry the option.
        WindowScalingEnabled = windowScale >= 0;
        Sender.Shift = WindowScalingEnabled ? windowScale : 0;
        if (!WindowScalingEnabled)
        {
            Receiver.Shift = 0;
        }

        // RFC 2018 2 and RFC 7323 3.2: used only when the SYN carried them (and ours offers them).
        SackEnabled = sack;
        if (sack && _recovery is not SackRecovery)
        {
            _recovery = new SackRecovery(this, Sender.Capacity);
        }

        TimestampsEnabled = timestamps;
        if (timestamps)
        {
            TsRecent = timestampValue;
        }
    }

    // Options on every non-SYN segment: timestamps if negotiated; SACK blocks only on pure ACKs,
    // so a data segment never grows past the MSS.
    internal TcpOptions SegmentOptions(bool withSack)
    {
        TcpOptions options = TcpOptions.None;
        if (TimestampsEnabled)
        {
            options.HasTimestamps = true;
            options.TimestampValue = TimestampNow;
            options.TimestampEcho = TsRecent;
        }

        if (withSack && SackEnabled)
        {
            int room = TimestampsEnabled ? 3 : 4;
            if (Receiver.TakeDuplicateReport(out SackBlock duplicate))
            {
                options.AddSack(duplicate); // RFC 2883 4: the D-SACK block comes first
                room--;
            }

            if (Receiver.OutOfOrder.Count > 0)
            {
                Receiver.OutOfOrder.WriteSackBlocks(ref options, room);
            }
        }

        return options;
    }

    private void SendSyn(bool ack, bool retransmission = false)
    {
        TcpOptions options = TcpOptions.None;
        options.Mss = (ushort)AdvertisedMss;
        if (!ack || WindowScalingEnabled)
        {
            options.WindowScale = (sbyte)Receiver.Shift;
        }

        options.SackPermitted = !ack || SackEnabled;
        if (!ack || TimestampsEnabled)
        {
            options.HasTimestamps = true;
            options.TimestampValue = TimestampNow;
            options.TimestampEcho = ack ? TsRecent : 0;
        }

        Layer.Send(new OutgoingSegment
        {
            Tuple = Tuple,
            Sequence = Sender.Iss,
            Acknowledgment = ack ? Receiver.Nxt : default,
            // RFC 3168 6.1.1: ECE+CWR in a SYN asks for ECN, ECE alone in a SYN-ACK agrees.
            Flags = ack ? TcpFlags.Syn | TcpFlags.Ack | Ecn.SynAckFlags : TcpFlags.Syn | Ecn.SynFlags(retransmission),
            Window = Receiver.AdvertiseSyn(),
            Options = options,
            TypeOfService = TypeOfService,
            AllowFragmentation = !DontFragment,
        });
    }

    // RFC 9293 3.10.7.3: SYN-SENT.
    private void OnSegmentInSynSent(TcpSegment seg)
    {
        TcpFlags flags = seg.Flags;
        bool hasAck = (flags & TcpFlags.Ack) != 0;
        if (hasAck && (seg.AcknowledgmentNumber <= Sender.Iss || seg.AcknowledgmentNumber > Sender.Nxt))
        {
            if ((flags & TcpFlags.Rst) == 0)
            {
                Sender.SendReset(seg.AcknowledgmentNumber);
            }

            return;
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            // RFC 9293: a RST is acceptable here only if it acknowledges our SYN: connection refused.
            if (hasAck)
            {
                Layer.Counters.Increment(Counter.TcpResetsReceived);
                Fail(StackError.ConnectionRefused);
            }

            return;
        }

        if ((flags & TcpFlags.Syn) == 0)
        {
            return;
        }

        Receiver.Irs = seg.SequenceNumber;
        Receiver.Nxt = seg.SequenceNumber + 1;
        ApplySynOptions(seg);
        Sender.SetWindow(seg.Window, seg.SequenceNumber, seg.AcknowledgmentNumber);
        if (hasAck)
        {
            Ecn.OnSynAck(flags);
            Sender.Una = seg.AcknowledgmentNumber;
            Rtt.SampleOnAck(seg.AcknowledgmentNumber, Layer.Now);
            Timers.Cancel(TcpTimer.Retransmit);
            Sender.Retries = 0;
            SetState(TcpConnectionState.Established);
            Sender.SendAck();
            Sender.Output();
        }
        else
        {
            // Simultaneous open (RFC 9293 3.5, figure 8): SYN-RECEIVED, answer with SYN-ACK.
            Ecn.OnSimultaneousSyn(flags);
            SetState(TcpConnectionState.SynReceived);
            SendSyn(ack: true);
        }
    }
}
