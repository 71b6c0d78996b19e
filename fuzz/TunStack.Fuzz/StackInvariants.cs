using TunStack.Tcp;

namespace TunStack.Fuzz;

/// <summary>What every stack under fuzz must hold after every poll, whatever it was fed.</summary>
internal static class StackInvariants
{
    /// <summary>
    /// The invariants: the accounting identities the counters keep (every packet
    /// ends in exactly one counter of its layer), the TCP sequence relations and buffer bounds of
    /// every connection, and the memory bounds.
    /// </summary>
    public static void Check(NetworkStack stack, IEnumerable<TcpConnection> alsoOpen)
    {
        StackCounters c = stack.Counters;

        // IPv4 (RFC 791, RFC 1122 3.2.1): each datagram received, and each one reassembled, is dropped
        // for one reason, kept as a fragment, or delivered.
        long v4In = c[Counter.Ipv4Received] + c[Counter.Ipv4Reassembled];
        long v4Out = c[Counter.Ipv4Truncated] + c[Counter.Ipv4BadHeaderLength] + c[Counter.Ipv4BadLength] + c[Counter.Ipv4BadChecksum]
            + c[Counter.Ipv4BadSource] + c[Counter.Ipv4NotForUs] + c[Counter.Ipv4BadOptions] + c[Counter.Ipv4FragmentsReceived]
            + c[Counter.Ipv4Delivered] + c[Counter.Ipv4UnknownProtocol];
        InvariantViolationException.Check(v4In == v4Out, $"IPv4 accounting: {v4In} datagrams in (received + reassembled), {v4Out} accounted for");

        // IPv6 (RFC 8200) likewise; a packet dropped for a Parameter Problem counts there once. A
        // fragment is counted received before its checks, so the reasons a fragment is refused for
        // (Ipv6IncompleteHeaderChain, the Reassembly counters) say why, within Ipv6FragmentsReceived.
        long v6In = c[Counter.Ipv6Received] + c[Counter.Ipv6Reassembled];
        long v6Out = c[Counter.Ipv6Truncated] + c[Counter.Ipv6BadLength] + c[Counter.Ipv6BadSource] + c[Counter.Ipv6NotForUs]
            + c[Counter.Ipv6BadExtensionHeader] + c[Counter.Ipv6TooManyExtensionHeaders] + c[Counter.Ipv6OptionDiscarded]
            + c[Counter.Ipv6ParameterProblem] + c[Counter.Ipv6NoNextHeader] + c[Counter.Ipv6FragmentsReceived] + c[Counter.Ipv6Delivered];
        InvariantViolationException.Check(v6In == v6Out, $"IPv6 accounting: {v6In} packets in (received + reassembled), {v6Out} accounted for");

        long delivered = c[Counter.Ipv4Delivered] + c[Counter.Ipv6Delivered];
        long taken = c[Counter.IcmpReceived] + c[Counter.UdpReceived] + c[Counter.TcpReceived];
        InvariantViolationException.Check(delivered == taken, $"IP delivered {delivered} datagrams, ICMP, UDP and TCP received {taken}");

        long udpOut = c[Counter.UdpTruncated] + c[Counter.UdpBadLength] + c[Counter.UdpZeroChecksumV6] + c[Counter.UdpBadChecksum]
            + c[Counter.UdpForwarded] + c[Counter.UdpNoPort] + c[Counter.UdpReceiveQueueFull] + c[Counter.UdpDelivered];
        InvariantViolationException.Check(c[Counter.UdpReceived] == udpOut, $"UDP accounting: {c[Counter.UdpReceived]} received, {udpOut} accounted for");

        long icmpOut = c[Counter.IcmpTruncated] + c[Counter.IcmpBadChecksum] + c[Counter.IcmpEchoForwarded] + c[Counter.IcmpEchoRequests]
            + c[Counter.IcmpEchoRepliesReceived] + c[Counter.IcmpErrorsReceived] + c[Counter.IcmpIgnored]
            + c[Counter.Icmpv6RouterDiscoveryIgnored] + c[Counter.Icmpv6NeighborDiscoveryIgnored] + c[Counter.Icmpv6MldIgnored];
        InvariantViolationException.Check(c[Counter.IcmpReceived] == icmpOut, $"ICMP accounting: {c[Counter.IcmpReceived]} received, {icmpOut} accounted for");

        long tcpDropped = c[Counter.TcpTruncated] + c[Counter.TcpBadHeaderLength] + c[Counter.TcpBadChecksum] + c[Counter.TcpToGroup] + c[Counter.TcpNoConnection];
        InvariantViolationException.Check(tcpDropped <= c[Counter.TcpReceived], $"TCP counted {tcpDropped} drops of {c[Counter.TcpReceived]} segments received");

        foreach (TcpConnection connection in stack.ListTcpConnections())
        {
            CheckConnection(stack, connection);
        }

        foreach (TcpConnection connection in alsoOpen)
        {
            CheckConnection(stack, connection);
        }

        TcpMemoryUse memory = stack.TcpMemory;
        InvariantViolationException.Check(memory.InUseBytes >= 0, $"TCP memory in use is negative: {memory.InUseBytes}");
        (int v4Datagrams, int v6Datagrams, int bytes) = stack.Reassembly;
        InvariantViolationException.Check(v4Datagrams <= stack.Options.ReassemblyMaxDatagrams && v6Datagrams <= stack.Options.ReassemblyMaxDatagrams,
            $"reassembly holds {v4Datagrams} + {v6Datagrams} datagrams, more than the bound {stack.Options.ReassemblyMaxDatagrams}");
        InvariantViolationException.Check(bytes <= 2 * stack.Options.ReassemblyMemoryLimit, $"reassembly holds {bytes} bytes, more than its two bounds");
    }

    private static void CheckConnection(NetworkStack stack, TcpConnection connection)
    {
        TcpSender sender = connection.Sender;
        TcpReceiver receiver = connection.Receiver;
        TcpSettings settings = stack.Options.Tcp;
        string name = connection.ToString();

        // RFC 9293 3.3.1: SND.UNA <= SND.NXT, and nothing is sent beyond the highest sequence sent.
        InvariantViolationException.Check(sender.Una <= sender.Nxt, $"{name}: SND.UNA {sender.Una} is past SND.NXT {sender.Nxt}");
        InvariantViolationException.Check(sender.Nxt <= sender.Max, $"{name}: SND.NXT {sender.Nxt} is past the highest sequence sent {sender.Max}");
        InvariantViolationException.Check(sender.Buffered <= sender.Capacity, $"{name}: {sender.Buffered} bytes queued in a {sender.Capacity}-byte send buffer");
        bool open = connection.State is not (TcpConnectionState.Closed or TcpConnectionState.Listen or TcpConnectionState.SynSent or TcpConnectionState.SynReceived);
        if (open)
        {
            // What is in flight is still in the send buffer: sent and unacknowledged data, plus one for a FIN.
            InvariantViolationException.Check(sender.Max - sender.Una <= sender.Buffered + 1, $"{name}: {sender.Max - sender.Una} in flight from SND.UNA {sender.Una} but {sender.Buffered} bytes buffered");

            // RFC 9293 3.3.1: RCV.NXT moved over the bytes taken in order (the urgent bytes taken out
            // of the stream among them) and the FIN, nothing else.
            long sequenceTaken = (long)(uint)(receiver.Nxt - (receiver.Irs + 1)) - (receiver.FinReceived ? 1 : 0);
            InvariantViolationException.Check(sequenceTaken >= receiver.StreamWritten && sequenceTaken <= receiver.StreamWritten + stack.Counters[Counter.TcpUrgentReceived],
                $"{name}: RCV.NXT is {sequenceTaken} bytes past the SYN, but {receiver.StreamWritten} bytes went into the stream");
        }

        InvariantViolationException.Check(sender.Capacity <= Math.Max(settings.SendBufferMax, settings.SendBufferSize), $"{name}: send buffer grew to {sender.Capacity}, past its bound");

        // The receive queue stays within its buffer, and the buffer within its bound.
        InvariantViolationException.Check(receiver.Available >= 0 && receiver.Available <= receiver.Capacity, $"{name}: {receiver.Available} bytes readable in a {receiver.Capacity}-byte receive buffer");
        InvariantViolationException.Check(receiver.Capacity <= Math.Max(settings.ReceiveBufferMax, settings.ReceiveBufferSize), $"{name}: receive buffer grew to {receiver.Capacity}, past its bound");
        InvariantViolationException.Check(receiver.StreamRead <= receiver.StreamWritten, $"{name}: the application read {receiver.StreamRead} bytes of {receiver.StreamWritten} received");
        // (Once closed, by either side or the application, what was left unread went back to the pool.)
        InvariantViolationException.Check(connection.State == TcpConnectionState.Closed || connection.ClosedByApplication || receiver.StreamWritten - receiver.StreamRead == receiver.Available,
            $"{name}: {receiver.StreamWritten - receiver.StreamRead} bytes unread but {receiver.Available} readable");
    }
}
