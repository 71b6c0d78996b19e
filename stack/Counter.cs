namespace TunStack;

/// <summary>
/// Every drop reason and protocol event the stack counts (like Linux <c>nstat</c>). Drops are named
/// for their reason; <see cref="StackCounters.Snapshot"/> gives them by name.
/// </summary>
public enum Counter
{
    /// <summary>Packets read from the link.</summary>
    LinkReceived,
    /// <summary>Packets written to the link.</summary>
    LinkSent,
    /// <summary>Dropped: neither IPv4 nor IPv6 (version nibble).</summary>
    LinkUnknownVersion,

    /// <summary>IPv4 datagrams received.</summary>
    Ipv4Received,
    /// <summary>Dropped: shorter than 20 bytes.</summary>
    Ipv4Truncated,
    /// <summary>Dropped: IHL below 5 or beyond the buffer.</summary>
    Ipv4BadHeaderLength,
    /// <summary>Dropped: Total Length below IHL or beyond the buffer.</summary>
    Ipv4BadLength,
    /// <summary>Dropped: header checksum (RFC 1122 3.2.1.2).</summary>
    Ipv4BadChecksum,
    /// <summary>Dropped: malformed option (Parameter Problem sent).</summary>
    Ipv4BadOptions,
    /// <summary>Dropped: source is broadcast, multicast, unspecified or loopback (RFC 1122 3.2.1.3).</summary>
    Ipv4BadSource,
    /// <summary>Dropped: destination is not one of ours.</summary>
    Ipv4NotForUs,
    /// <summary>Dropped: protocol with no handler (Protocol Unreachable sent).</summary>
    Ipv4UnknownProtocol,
    /// <summary>Datagrams handed to a transport.</summary>
    Ipv4Delivered,
    /// <summary>Datagrams sent.</summary>
    Ipv4Sent,
    /// <summary>Fragments received.</summary>
    Ipv4FragmentsReceived,
    /// <summary>Datagrams reassembled.</summary>
    Ipv4Reassembled,
    /// <summary>Fragments created on output.</summary>
    Ipv4FragmentsCreated,
    /// <summary>Dropped on output: larger than the MTU with DF set.</summary>
    Ipv4OutputTooBigDontFragment,

    /// <summary>IPv6 packets received.</summary>
    Ipv6Received,
    /// <summary>Dropped: shorter than 40 bytes.</summary>
    Ipv6Truncated,
    /// <summary>Dropped: Payload Length beyond the buffer, or a jumbogram.</summary>
    Ipv6BadLength,
    /// <summary>Dropped: multicast, unspecified-with-transport or loopback source (RFC 4291 2.7).</summary>
    Ipv6BadSource,
    /// <summary>Dropped: destination is not one of ours.</summary>
    Ipv6NotForUs,
    /// <summary>Dropped: truncated or malformed extension header.</summary>
    Ipv6BadExtensionHeader,
    /// <summary>Dropped: more extension headers than the walk allows.</summary>
    Ipv6TooManyExtensionHeaders,
    /// <summary>Dropped: an unrecognized option with action 01 (RFC 8200 4.2).</summary>
    Ipv6OptionDiscarded,
    /// <summary>Dropped with Parameter Problem (unrecognized header, option, routing type, bad field).</summary>
    Ipv6ParameterProblem,
    /// <summary>Dropped: No Next Header (RFC 8200 4.7).</summary>
    Ipv6NoNextHeader,
    /// <summary>Dropped: first fragment without the whole header chain (RFC 7112).</summary>
    Ipv6IncompleteHeaderChain,
    /// <summary>Packets handed to a transport.</summary>
    Ipv6Delivered,
    /// <summary>Packets sent.</summary>
    Ipv6Sent,
    /// <summary>Fragments received.</summary>
    Ipv6FragmentsReceived,
    /// <summary>Packets reassembled.</summary>
    Ipv6Reassembled,
    /// <summary>Atomic fragments (offset 0, M clear) processed as whole packets (RFC 6946).</summary>
    Ipv6AtomicFragments,
    /// <summary>Fragments created on output.</summary>
    Ipv6FragmentsCreated,

    /// <summary>Dropped: a fragment partially overlaps received data (RFC 5722); the datagram is discarded.</summary>
    ReassemblyOverlap,
    /// <summary>Dropped: a fragment of a datagram already discarded for overlap.</summary>
    ReassemblyDiscardedDatagram,
    /// <summary>Dropped: reassembled size would exceed 65,535 bytes.</summary>
    ReassemblyOversize,
    /// <summary>Dropped: non-final fragment length not a multiple of 8, or a conflicting last fragment.</summary>
    ReassemblyBadFragment,
    /// <summary>Datagrams abandoned at the reassembly timeout.</summary>
    ReassemblyTimeout,
    /// <summary>Datagrams evicted to stay under the reassembly memory cap.</summary>
    ReassemblyMemoryEvicted,
    /// <summary>Dropped: more fragments in one datagram than allowed.</summary>
    ReassemblyTooManyFragments,
    /// <summary>Duplicate or subset fragments accepted and ignored.</summary>
    ReassemblyDuplicate,

    /// <summary>ICMP/ICMPv6 messages received.</summary>
    IcmpReceived,
    /// <summary>Dropped: shorter than the ICMP header.</summary>
    IcmpTruncated,
    /// <summary>Dropped: checksum.</summary>
    IcmpBadChecksum,
    /// <summary>Echo requests received.</summary>
    IcmpEchoRequests,
    /// <summary>Echo replies sent.</summary>
    IcmpEchoRepliesSent,
    /// <summary>Echo requests sent.</summary>
    IcmpEchoRequestsSent,
    /// <summary>Echo replies received.</summary>
    IcmpEchoRepliesReceived,
    /// <summary>Dropped: echo reply with no endpoint for its identifier.</summary>
    IcmpEchoNoEndpoint,
    /// <summary>Ignored: echo request to a broadcast/multicast IPv4 address (Linux icmp_echo_ignore_broadcasts).</summary>
    IcmpBroadcastEchoIgnored,
    /// <summary>ICMP errors received.</summary>
    IcmpErrorsReceived,
    /// <summary>ICMP errors sent.</summary>
    IcmpErrorsSent,
    /// <summary>Not sent: the token bucket was empty.</summary>
    IcmpErrorsRateLimited,
    /// <summary>Not sent: RFC 1122 3.2.2 / RFC 4443 2.4(e) forbids an error about this packet.</summary>
    IcmpErrorsSuppressed,
    /// <summary>Ignored: ICMP types the stack does not act on.</summary>
    IcmpIgnored,
    /// <summary>Ignored: Router Solicitations/Advertisements and redirects.</summary>
    Icmpv6RouterDiscoveryIgnored,
    /// <summary>Ignored: Neighbor Solicitations/Advertisements (a TUN link has no link layer).</summary>
    Icmpv6NeighborDiscoveryIgnored,
    /// <summary>Ignored: MLD queries and reports.</summary>
    Icmpv6MldIgnored,

    /// <summary>UDP datagrams received.</summary>
    UdpReceived,
    /// <summary>Dropped: shorter than 8 bytes.</summary>
    UdpTruncated,
    /// <summary>Dropped: Length field disagrees with the packet.</summary>
    UdpBadLength,
    /// <summary>Dropped: checksum.</summary>
    UdpBadChecksum,
    /// <summary>Dropped: zero checksum over IPv6 (RFC 8200 8.1).</summary>
    UdpZeroChecksumV6,
    /// <summary>Dropped: no endpoint on the port (Port Unreachable sent unless suppressed).</summary>
    UdpNoPort,
    /// <summary>Dropped: the endpoint's receive queue was full.</summary>
    UdpReceiveQueueFull,
    /// <summary>Datagrams queued to an endpoint.</summary>
    UdpDelivered,
    /// <summary>Datagrams sent.</summary>
    UdpSent,
    /// <summary>ICMP errors matched to a UDP endpoint.</summary>
    UdpIcmpErrors,

    /// <summary>Segments received while no TCP engine is attached.</summary>
    TcpNoEngine,
    /// <summary>TCP segments received.</summary>
    TcpReceived,
    /// <summary>TCP segments sent.</summary>
    TcpSent,
    /// <summary>Dropped: shorter than 20 bytes.</summary>
    TcpTruncated,
    /// <summary>Dropped: data offset below 5 or beyond the segment.</summary>
    TcpBadHeaderLength,
    /// <summary>Dropped: checksum.</summary>
    TcpBadChecksum,
    /// <summary>Dropped: sent to a broadcast or multicast address.</summary>
    TcpToGroup,
    /// <summary>No connection or listener: answered with RST (RFC 9293 3.10.7.1).</summary>
    TcpNoConnection,
    /// <summary>RST segments sent.</summary>
    TcpResetsSent,
    /// <summary>RST segments that reset a connection.</summary>
    TcpResetsReceived,
    /// <summary>Dropped: sequence number outside the receive window (answered with an ACK unless RST).</summary>
    TcpOutOfWindow,
    /// <summary>Dropped: ACK of data never sent (answered with an ACK).</summary>
    TcpAckOfUnsentData,
    /// <summary>Dropped: ACK older than SND.UNA - MAX.SND.WND (RFC 5961 5.2; answered with an ACK).</summary>
    TcpAckTooOld,
    /// <summary>Challenge ACKs sent (RFC 5961).</summary>
    TcpChallengeAcks,
    /// <summary>Challenge ACKs not sent: the per-stack rate limit was reached.</summary>
    TcpChallengeAcksRateLimited,
    /// <summary>Out-of-order segments held until the gap before them fills.</summary>
    TcpOutOfOrderQueued,
    /// <summary>Dropped: out-of-order data beyond the window or the range bound (answered with an ACK).</summary>
    TcpOutOfOrderDropped,
    /// <summary>Dropped: timestamp older than TS.Recent (RFC 7323 5.3 PAWS; answered with an ACK).</summary>
    TcpPawsRejected,
    /// <summary>Connections opened actively (connect).</summary>
    TcpActiveOpens,
    /// <summary>Connections opened passively (accepted handshakes).</summary>
    TcpPassiveOpens,
    /// <summary>Connections that reached ESTABLISHED.</summary>
    TcpEstablished,
    /// <summary>Segments retransmitted after a retransmission timeout.</summary>
    TcpRetransmits,
    /// <summary>Retransmission timeouts.</summary>
    TcpTimeouts,
    /// <summary>Loss recoveries entered on duplicate ACKs or SACK (fast retransmit, RFC 5681 3.2 / RFC 6675).</summary>
    TcpFastRecoveries,
    /// <summary>Segments retransmitted during fast recovery.</summary>
    TcpFastRetransmits,
    /// <summary>Partial ACKs during recovery (RFC 6582).</summary>
    TcpPartialAcks,
    /// <summary>New segments sent by limited transmit on the first two duplicate ACKs (RFC 3042).</summary>
    TcpLimitedTransmits,
    /// <summary>SACK blocks received.</summary>
    TcpSackBlocksReceived,
    /// <summary>SACK blocks not kept: the scoreboard's range bound was reached.</summary>
    TcpSackScoreboardFull,
    /// <summary>D-SACK blocks received (RFC 2883: the peer got a segment twice).</summary>
    TcpDsackReceived,
    /// <summary>Windows halved after going unused for the non-validated period (RFC 7661 4.4).</summary>
    TcpCwndValidationHalvings,
    /// <summary>Receive buffers grown by auto-tuning.</summary>
    TcpReceiveBufferGrowths,
    /// <summary>Send buffers grown by auto-tuning.</summary>
    TcpSendBufferGrowths,
    /// <summary>Tail loss probes sent (RFC 8985 7).</summary>
    TcpLossProbes,
    /// <summary>Tail loss probes whose retransmission repaired a loss (RFC 8985 7.4).</summary>
    TcpLossProbeRecoveries,
    /// <summary>Segments RACK deemed lost by time (RFC 8985 6.2).</summary>
    TcpRackLosses,
    /// <summary>Send MSS lowered by an ICMP fragmentation-needed / packet-too-big (RFC 1191, RFC 8201).</summary>
    TcpPathMtuReductions,
    /// <summary>Window reductions undone: D-SACKs showed every retransmission of the episode was needless (RFC 3708).</summary>
    TcpSpuriousRetransmissionUndos,
    /// <summary>Connections aborted after too many retransmissions.</summary>
    TcpTimeoutAborts,
    /// <summary>Dropped SYN: the listener's accept queue was full (the client retries).</summary>
    TcpListenOverflow,
    /// <summary>Dropped SYN: the listener's SYN queue was full (and SYN cookies are off).</summary>
    TcpSynQueueOverflow,
    /// <summary>SYN-ACKs sent with a SYN cookie because the SYN queue was full (RFC 4987).</summary>
    TcpSynCookiesSent,
    /// <summary>Connections completed from a valid SYN cookie.</summary>
    TcpSynCookiesValid,
    /// <summary>ACKs to a listener whose cookie did not validate (answered with RST).</summary>
    TcpSynCookiesInvalid,
    /// <summary>Dropped: the stack's connection limit was reached.</summary>
    TcpConnectionLimit,
    /// <summary>Connections that entered TIME-WAIT.</summary>
    TcpTimeWaits,
    /// <summary>Connections reset because data arrived after the application closed (RFC 9293 3.10.7.4).</summary>
    TcpAbortOnData,
    /// <summary>Connections reset by close with unread data (RFC 1122 4.2.2.13).</summary>
    TcpAbortOnClose,
    /// <summary>Zero-window probes sent.</summary>
    TcpWindowProbes,
    /// <summary>Urgent (out-of-band) bytes received.</summary>
    TcpUrgentReceived,
    /// <summary>Keepalive probes sent.</summary>
    TcpKeepAliveProbes,
    /// <summary>Connections dropped after unanswered keepalive probes.</summary>
    TcpKeepAliveTimeouts,
    /// <summary>Connections aborted by the user timeout (RFC 5482).</summary>
    TcpUserTimeouts,
    /// <summary>Orphaned connections closed by the FIN-WAIT-2 timeout.</summary>
    TcpFinWait2Timeouts,
    /// <summary>Connections that skipped TIME-WAIT because the TIME-WAIT bound was reached.</summary>
    TcpTimeWaitOverflow,
    /// <summary>Closes turned into resets because the orphan bound was reached.</summary>
    TcpOrphanOverflow,

    /// <summary>Dropped on output: no route to the destination.</summary>
    OutputNoRoute,
    /// <summary>Dropped on output: no source address of the destination's family.</summary>
    OutputNoSource,
    /// <summary>Dropped on output: the loopback queue (packets to the stack's own addresses) was full.</summary>
    OutputLoopbackQueueFull,
    /// <summary>Dropped: received data that found the TCP memory limit reached (Linux TCPRcvQDrop); the peer sends it again.</summary>
    TcpMemoryDrops,
    /// <summary>Out-of-order data discarded to make room for in-order data at the memory limit (Linux TCPOFODrop/prune).</summary>
    TcpOutOfOrderPruned,
    /// <summary>Times TCP memory use crossed the pressure mark (Linux TCPMemoryPressures).</summary>
    TcpMemoryPressures,
    /// <summary>Application sends that found the TCP memory limit reached and took less than offered.</summary>
    TcpSendMemoryLimited,
    /// <summary>SYNs that ended a TIME-WAIT to open a new incarnation of its 4-tuple (RFC 6191).</summary>
    TcpTimeWaitReopened,

    /// <summary>Dropped: offload metadata (virtio-net header) that disagrees with the packet (a super-segment of the other family, of no TCP, without a segment size; a partial checksum not at the transport header).</summary>
    LinkBadOffload,
    /// <summary>Dropped: a super-segment of a kind the stack does not take (UDP, TCP with ECN).</summary>
    LinkUnsupportedSegmentation,
    /// <summary>TCP super-segments received from the link (the kernel's GSO packets, taken whole).</summary>
    LinkSuperSegmentsReceived,
    /// <summary>TCP super-segments handed to the link to cut (TSO).</summary>
    LinkSuperSegmentsSent,
    /// <summary>Received TCP segments merged into the segment before them in the same batch (software GRO).</summary>
    TcpSegmentsCoalesced,
    /// <summary>Received TCP segments of the flow being merged that could not join it (not contiguous, other flags, ACK, window or options, a bad checksum, too large).</summary>
    TcpCoalesceRefused,

    /// <summary>Datagrams to an address the stack does not own, taken because a forwarder terminates any address (TCP and UDP only).</summary>
    IpForeignDelivered,
    /// <summary>SYNs to an address the stack does not own handed to the TCP forwarder for a decision.</summary>
    TcpForwardRequests,
    /// <summary>Forwarded connection requests accepted (a SYN-ACK from the original destination).</summary>
    TcpForwardAccepted,
    /// <summary>Forwarded connection requests refused with a reset.</summary>
    TcpForwardRejected,
    /// <summary>Forwarded connection requests refused with ICMP destination unreachable (host unreachable).</summary>
    TcpForwardUnreachable,
    /// <summary>Forwarded connection requests dropped without an answer (by the forwarder, or undecided past the decision timeout).</summary>
    TcpForwardDropped,
    /// <summary>Dropped: a SYN to a foreign address while the forwarder already had its maximum of undecided requests.</summary>
    TcpForwardPendingOverflow,
    /// <summary>UDP datagrams to an address the stack does not own handed to the UDP forwarder.</summary>
    UdpForwarded,
    /// <summary>ICMP echo requests to an address the stack does not own handed to the echo forwarder.</summary>
    IcmpEchoForwarded,
    /// <summary>Dropped: a SYN with FIN set to a listener or a forwarder (Linux and the BSDs discard it in LISTEN).</summary>
    TcpSynFinDropped,
    /// <summary>D-SACK blocks sent (RFC 2883: a segment arrived that had been received before).</summary>
    TcpDsackSent,

    /// <summary>Connections that negotiated ECN in their handshake (RFC 3168 6.1.1).</summary>
    TcpEcnNegotiated,
    /// <summary>Data segments that arrived marked Congestion Experienced on an ECN connection (RFC 3168 6.1.3), echoed with ECE.</summary>
    TcpCongestionExperiencedReceived,
    /// <summary>Window reductions for an ECN-Echo from the peer (RFC 3168 6.1.2: at most one per window of data).</summary>
    TcpEcnEchoReductions,
    /// <summary>Segments sent with CWR after a window reduction (RFC 3168 6.1.2).</summary>
    TcpCwrSent,
    /// <summary>Segments received with CWR: the peer reduced its window, ECE stops (RFC 3168 6.1.3).</summary>
    TcpCwrReceived,

    /// <summary>Packets that arrived on one partition's queue but belong to another partition (see <see cref="Links.PartitionSteering"/>), handed over to it.</summary>
    PartitionHandedOff,
    /// <summary>Dropped: a packet for another partition while that partition's hand-off queue was full.</summary>
    PartitionHandOffDropped,
    /// <summary>
    /// Out-of-window segments without data (or with SYN) left unanswered: a connection answers one
    /// every 500 ms (Linux's TCPACKSkippedSeq and TCPACKSkippedPAWS), so that forged ACKs draw no
    /// ACK for each and two stacks that disagree cannot loop.
    /// </summary>
    TcpOutOfWindowAcksSkipped,
    /// <summary>ICMP errors about a TCP connection ignored: the sequence number they quote was not in flight (RFC 5927 4.1; Linux's OutOfWindowIcmps).</summary>
    TcpIcmpOutOfWindow,
}
