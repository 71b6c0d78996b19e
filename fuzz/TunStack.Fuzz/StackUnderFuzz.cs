using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Udp;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// One stack under fuzz, made afresh for each input so that every crash replays alone: a
/// <see cref="NetworkStack"/> on the virtual clock over an in-memory link whose far end is the
/// target. It listens on TCP port 80, has a dual-stack UDP endpoint on port 53, a connected UDP
/// endpoint, an ICMP echo endpoint and, when asked, a TCP connection established through the
/// listener with the options the shape byte picks. After every poll it checks the invariants the
/// stack promises (<see cref="CheckInvariants"/>) and that every packet it sent is well formed.
/// </summary>
internal sealed class StackUnderFuzz
{
    public static readonly InternetAddress StackV4 = InternetAddress.Parse("10.0.0.2");
    public static readonly InternetAddress PeerV4 = InternetAddress.Parse("10.0.0.1");
    public static readonly InternetAddress StackV6 = InternetAddress.Parse("fd00::2");
    public static readonly InternetAddress PeerV6 = InternetAddress.Parse("fd00::1");

    /// <summary>A second peer address: what raw packets come from when they would pass for the established connection's peer.</summary>
    public static readonly InternetAddress OtherV4 = InternetAddress.Parse("10.0.0.3");

    public const ushort ListenPort = 80, PeerPort = 40000, UdpPort = 53, ConnectedUdpPort = 5353, EchoIdentifier = 0x4242;

    /// <summary>The ports of the connections the application opens (<see cref="Connect"/>): ours, and the other peer's.</summary>
    public const ushort ActiveOpenPort = 45000, ActiveOpenPeerPort = 41000;

    /// <summary>The ISNs of the established connection: fixed, so that seeds quoting it stay valid.</summary>
    public const uint StackIss = 1_000_000, PeerIss = 5000;

    /// <summary>The shape byte's bits.</summary>
    public const byte ShapeTimestamps = 1, ShapeSack = 2, ShapeWindowScale = 4, ShapeSmallMss = 8, ShapeTightMemory = 16, ShapeNoCoalescing = 32, ShapeNewReno = 64;

    private const int Mtu = 1500;
    private const int BufferSize = 16 * 1024;

    private readonly MemoryLink _far;
    private readonly MemoryLink _near;
    private readonly PacketBatch _toStack = new(1, Mtu);
    private readonly PacketBatch _fromStack = new(64, Mtu);
    private readonly List<ApplicationReader> _readers = new();
    private readonly bool _patternPeer;

    public StackUnderFuzz(byte shape, bool establish, bool patternPeer = true, bool readOnPoll = true)
    {
        _patternPeer = patternPeer;
        ReadOnPoll = readOnPoll;
        (_near, _far) = MemoryLink.CreatePair(Mtu, queueCapacity: 256);
        var options = new StackOptions
        {
            RandomSeed = 1,
            BatchSize = 8,
            CoalesceReceivedSegments = (shape & ShapeNoCoalescing) == 0,
        };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        options.Addresses.Add(IpPrefix.Parse("fd00::2/64"));
        options.Tcp.SendBufferSize = BufferSize;
        options.Tcp.ReceiveBufferSize = BufferSize;
        options.Tcp.ReceiveBufferMax = 16 * BufferSize;
        options.Tcp.SendBufferMax = 16 * BufferSize;
        options.Tcp.CongestionControl = (shape & ShapeNewReno) != 0 ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic;
        if ((shape & ShapeTightMemory) != 0)
        {
            options.Tcp.MemoryLimit = 12 * options.Tcp.BufferChunkSize;
        }

        Clock = new VirtualClock(Instant.FromMilliseconds(1000));
        Stack = new NetworkStack(_near, options, Clock.Now);
        Stack.FixedTcpIsnForTests = StackIss;
        Listener = Stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV6, ListenPort), backlog: 4, out _)
            ?? throw new InvalidOperationException("the fixture's listener did not open");
        Udp = Stack.OpenUdp(System.Net.Sockets.AddressFamily.InterNetworkV6);
        Udp.Bind(new InternetEndpoint(InternetAddress.AnyV6, UdpPort));
        ConnectedUdp = Stack.OpenUdp();
        ConnectedUdp.Bind(new InternetEndpoint(StackV4, ConnectedUdpPort));
        ConnectedUdp.Connect(new InternetEndpoint(PeerV4, ConnectedUdpPort));
        Echo = Stack.OpenEcho(EchoIdentifier) ?? throw new InvalidOperationException("the fixture's echo endpoint did not open");
        Timestamps = (shape & ShapeTimestamps) != 0;
        if (establish)
        {
            Establish(shape);
        }
    }

    public NetworkStack Stack { get; }

    public VirtualClock Clock { get; }

    public TcpAcceptor Listener { get; }

    public UdpEndpoint Udp { get; }

    public UdpEndpoint ConnectedUdp { get; }

    public IcmpEchoEndpoint Echo { get; }

    /// <summary>The connection established at the start (null unless asked for, or when the handshake failed).</summary>
    public TcpConnection? Connection { get; private set; }

    /// <summary>Whether the application reads everything readable at every poll (else only when told, so that buffers can fill).</summary>
    public bool ReadOnPoll { get; set; }

    /// <summary>The established connection's peer: its next sequence number (what it sends next).</summary>
    public SeqNumber PeerNxt { get; set; }

    /// <summary>Whether the established connection negotiated timestamps (the peer then sends them).</summary>
    public bool Timestamps { get; private set; }

    /// <summary>The peer's timestamp clock.</summary>
    public uint PeerTsVal { get; set; } = 1000;

    /// <summary>The stack's latest TSval on the established connection, echoed by the peer.</summary>
    public uint StackTsVal { get; private set; }

    /// <summary>The peer's address and the stack's (or a group's: the IPv4 subnet broadcast, all-nodes for IPv6) for one family.</summary>
    public static (InternetAddress Peer, InternetAddress Stack) Addresses(bool v6, bool toGroup)
        => (v6 ? PeerV6 : PeerV4, toGroup ? InternetAddress.Parse(v6 ? "ff02::1" : "10.0.0.255") : v6 ? StackV6 : StackV4);

    /// <summary>Delivers one packet to a fresh stack with no connection, then tears it down (<see cref="TearDown"/>).</summary>
    public static void DeliverToFreshStack(ReadOnlySpan<byte> packet)
    {
        var stack = new StackUnderFuzz(shape: 0, establish: false);
        stack.Deliver(packet);
        stack.TearDown();
    }

    /// <summary>The stream offset of sequence number <paramref name="seq"/> on the established connection.</summary>
    public static uint StreamOffset(SeqNumber seq) => unchecked((uint)(seq - new SeqNumber(PeerIss + 1)));

    /// <summary>Queues a packet on the wire to the stack; it arrives at the next <see cref="Poll"/> (several together form one receive batch).</summary>
    public void Send(ReadOnlySpan<byte> packet)
    {
        _toStack.Clear();
        if (packet.Length <= _toStack.SlotCapacity && _toStack.TryAdd(packet))
        {
            _far.Transmit(_toStack, Clock.Now);
        }
    }

    /// <summary>Sends one packet and polls.</summary>
    public void Deliver(ReadOnlySpan<byte> packet)
    {
        Send(packet);
        Poll();
    }

    /// <summary>Lets the stack run at the current time, takes what it sent, and checks every invariant.</summary>
    public void Poll()
    {
        Stack.Poll(Clock.Now);
        Drain();
        AcceptAndRead();
        Stack.Poll(Clock.Now);
        Drain();
        CheckInvariants();
    }

    /// <summary>Moves the virtual clock on, running every timer that falls due on the way, as a host would.</summary>
    public void Advance(TimeSpan by)
    {
        Instant end = Clock.Now + by;
        for (int i = 0; i < 10_000; i++)
        {
            Instant next = Stack.NextDeadline;
            if (next <= Clock.Now || next > end)
            {
                break;
            }

            Clock.AdvanceTo(next);
            Poll();
        }

        Clock.AdvanceTo(end);
        Poll();
    }

    /// <summary>Reads from every connection the application holds, up to <paramref name="limit"/> bytes each.</summary>
    public void Read(int limit = int.MaxValue)
    {
        foreach (ApplicationReader reader in _readers)
        {
            reader.Read(limit);
        }
    }

    /// <summary>The application opens a connection (RFC 9293 3.10.1) from <see cref="ActiveOpenPort"/> + <paramref name="index"/> to <see cref="OtherV4"/>.</summary>
    public void Connect(int index)
    {
        var remote = new InternetEndpoint(OtherV4, (ushort)(ActiveOpenPeerPort + index));
        TcpConnection? connection = Stack.ConnectTcp(remote, out _, StackV4, (ushort)(ActiveOpenPort + index));
        if (connection is not null && _readers.Count < 16)
        {
            _readers.Add(new ApplicationReader(connection, Stack.Counters, checkPattern: false));
        }
    }

    /// <summary>Connections the application holds (the established one first).</summary>
    public IReadOnlyList<ApplicationReader> Readers => _readers;

    /// <summary>
    /// The end of an input: the application aborts every connection and closes every endpoint, the
    /// clock runs past every timeout, and then nothing may be left: no connection, no TIME-WAIT
    /// record, no datagram in reassembly, no byte of TCP memory.
    /// </summary>
    public void TearDown()
    {
        foreach (ApplicationReader reader in _readers)
        {
            reader.Connection.Abort();
        }

        foreach (TcpConnection connection in Stack.ListTcpConnections())
        {
            connection.Abort();
        }

        Listener.Close();
        Udp.Close();
        ConnectedUdp.Close();
        Echo.Close();
        Poll();
        Advance(TimeSpan.FromMinutes(10));
        InvariantViolationException.Check(Stack.TcpConnections == (0, 0), $"connections left after every one was aborted and every timer ran: {Stack.TcpConnections}");
        InvariantViolationException.Check(Stack.Reassembly == (0, 0, 0), $"reassembly state left after its timeout: {Stack.Reassembly}");
        InvariantViolationException.Check(Stack.TcpMemory.InUseBytes == 0, $"TCP memory not returned after every connection closed: {Stack.TcpMemory.InUseBytes} bytes");
    }

    private void Establish(byte shape)
    {
        var syn = TcpOptions.None;
        syn.Mss = (shape & ShapeSmallMss) != 0 ? (ushort)536 : (ushort)1460;
        syn.SackPermitted = (shape & ShapeSack) != 0;
        if ((shape & ShapeWindowScale) != 0)
        {
            syn.WindowScale = 2;
        }

        if (Timestamps)
        {
            syn.HasTimestamps = true;
            syn.TimestampValue = PeerTsVal;
        }

        var header = new TcpHeader { SourcePort = PeerPort, DestinationPort = ListenPort, SequenceNumber = new SeqNumber(PeerIss), Flags = TcpFlags.Syn, Window = 65535 };
        Deliver(PeerPackets.Ip(PeerV4, StackV4, IpProtocol.Tcp, PeerPackets.TcpSegment(PeerV4, StackV4, header, syn, default)));
        PeerNxt = new SeqNumber(PeerIss + 1);
        Deliver(PeerSegment(TcpFlags.Ack, PeerNxt, new SeqNumber(StackIss + 1), 65535, default, 0, 0));
    }

    /// <summary>
    /// A segment from the established connection's peer: <paramref name="dataLength"/> bytes of the
    /// stream pattern at <paramref name="seq"/>, with a timestamp option when the connection has them.
    /// </summary>
    public byte[] PeerSegment(TcpFlags flags, SeqNumber seq, SeqNumber ack, ushort window, ReadOnlySpan<byte> extraOptions, int dataLength, ushort urgentPointer)
    {
        var data = new byte[dataLength];
        StreamPattern.Fill(data, StreamOffset(seq));
        Span<byte> options = stackalloc byte[40];
        int length = 0;
        if (Timestamps)
        {
            var ts = TcpOptions.None;
            ts.HasTimestamps = true;
            ts.TimestampValue = PeerTsVal;
            ts.TimestampEcho = StackTsVal;
            length = ts.WriteTo(options);
        }

        int extra = Math.Min(extraOptions.Length, options.Length - length);
        extraOptions[..extra].CopyTo(options[length..]);
        length += extra;
        var header = new TcpHeader { SourcePort = PeerPort, DestinationPort = ListenPort, SequenceNumber = seq, AcknowledgmentNumber = ack, Flags = flags, Window = window, UrgentPointer = urgentPointer };
        return PeerPackets.Ip(PeerV4, StackV4, IpProtocol.Tcp, PeerPackets.TcpSegment(PeerV4, StackV4, header, options[..length], data));
    }

    // The application takes every connection the listener completed and reads what is readable;
    // the pattern is checked on the established connection only (other peers send what they like).
    private void AcceptAndRead()
    {
        while (Listener.TryAccept(out TcpConnection? accepted))
        {
            if (accepted is null || _readers.Count >= 16)
            {
                continue;
            }

            // The first connection from the peer's address and port is the established one.
            bool established = Connection is null && accepted.Tuple.Remote == new InternetEndpoint(PeerV4, PeerPort);
            if (established)
            {
                Connection = accepted;
            }

            _readers.Add(new ApplicationReader(accepted, Stack.Counters, checkPattern: established && _patternPeer));
        }

        if (ReadOnPoll)
        {
            Read();
        }
    }

    // Every packet the stack sends must be one its own input would take as well formed.
    private void Drain()
    {
        while (true)
        {
            _fromStack.Clear();
            if (_far.Receive(_fromStack, Clock.Now) == 0)
            {
                return;
            }

            for (int i = 0; i < _fromStack.Count; i++)
            {
                CheckSent(_fromStack[i]);
            }
        }
    }

    private void CheckSent(ReadOnlySpan<byte> packet)
    {
        InvariantViolationException.Check(packet.Length <= Mtu, $"the stack sent a {packet.Length}-byte packet on a {Mtu}-byte link");
        ReadOnlySpan<byte> transport;
        InternetAddress source, destination;
        byte protocol;
        if (Ipv4Packet.TryCreate(packet, out Ipv4Packet v4))
        {
            InvariantViolationException.Check(v4.IsChecksumValid, "the stack sent an IPv4 header with a bad checksum");
            InvariantViolationException.Check(v4.TryValidateOptions(out _), "the stack sent malformed IPv4 options");
            if (v4.IsFragment)
            {
                return;
            }

            transport = v4.Payload;
            source = InternetAddress.FromV4(v4.Source);
            destination = InternetAddress.FromV4(v4.Destination);
            protocol = v4.Protocol;
        }
        else if (Ipv6Packet.TryCreate(packet, out Ipv6Packet v6))
        {
            Ipv6Chain chain = Ipv6Chain.Walk(v6.Datagram, Ipv6Packet.HeaderLength, v6.NextHeader, 6);
            InvariantViolationException.Check(chain.Verdict == Ipv6ChainVerdict.Ok, $"the stack sent an IPv6 packet whose header chain walks to {chain.Verdict}");
            if (chain.UpperProtocol == IpProtocol.Fragment)
            {
                return;
            }

            transport = v6.Datagram[chain.UpperOffset..];
            source = InternetAddress.FromV6(v6.Source);
            destination = InternetAddress.FromV6(v6.Destination);
            protocol = chain.UpperProtocol;
        }
        else
        {
            throw new InvariantViolationException($"the stack sent a packet its own views refuse ({packet.Length} bytes)");
        }

        switch (protocol)
        {
            case IpProtocol.Tcp:
                InvariantViolationException.Check(TcpSegment.TryCreate(transport, out TcpSegment segment), "the stack sent a truncated TCP segment");
                InvariantViolationException.Check(segment.IsChecksumValid(PseudoHeader.Sum(source, destination, IpProtocol.Tcp, transport.Length)), "the stack sent a TCP segment with a bad checksum");
                NoteSent(segment, destination);
                break;
            case IpProtocol.Udp:
                InvariantViolationException.Check(UdpDatagram.TryCreate(transport, out UdpDatagram udp), "the stack sent a truncated UDP datagram");
                InvariantViolationException.Check(udp.IsChecksumValid(PseudoHeader.Sum(source, destination, IpProtocol.Udp, udp.Length)), "the stack sent a UDP datagram with a bad checksum");
                break;
            case IpProtocol.Icmp:
                InvariantViolationException.Check(IcmpMessage.TryCreate(transport, out IcmpMessage icmp) && icmp.IsChecksumValidV4, "the stack sent an ICMP message with a bad checksum");
                break;
            case IpProtocol.IcmpV6:
                Span<byte> s = stackalloc byte[16];
                Span<byte> d = stackalloc byte[16];
                source.WriteTo(s);
                destination.WriteTo(d);
                InvariantViolationException.Check(IcmpMessage.TryCreate(transport, out IcmpMessage icmp6) && icmp6.IsChecksumValidV6(s, d), "the stack sent an ICMPv6 message with a bad checksum");
                break;
        }
    }

    // The peer of the established connection echoes the stack's latest timestamp.
    private void NoteSent(TcpSegment segment, InternetAddress destination)
    {
        if (Timestamps && destination == PeerV4 && segment.DestinationPort == PeerPort)
        {
            TcpOptions options = TcpOptions.Parse(segment.Options);
            if (options.HasTimestamps)
            {
                StackTsVal = options.TimestampValue;
            }
        }
    }

    /// <summary>The invariants, after every poll (<see cref="StackInvariants"/>), over the stack's connections and the ones the application opened.</summary>
    public void CheckInvariants() => StackInvariants.Check(Stack, _readers.Select(r => r.Connection));
}
