// getsockopt and setsockopt: the options the sockets facade has, in Linux's layouts; every other
// option is ENOPROTOOPT (reported once on stderr, so a script's failure says what it needed).
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using TunStack.Sockets;
using TunStack.Tcp;

namespace TunStack.PacketdrillShim;

internal sealed partial class PacketdrillSession
{
    private const int SolIp = 0, SolSocket = 1, SolTcp = 6, SolIpv6 = 41;
    private const int IpTos = 1, IpMtuDiscover = 10, IpPmtuDiscDont = 0, IpPmtuDiscWant = 1, IpPmtuDiscOmit = 5;
    private const int TcpCork = 3, TcpUserTimeout = 18, TcpNotSentLowat = 25, TcpInq = 36;
    private const int Ipv6TrafficClass = 67;
    private const int SoReuseAddr = 2, SoType = 3, SoError = 4, SoSndBuf = 7, SoRcvBuf = 8, SoKeepAlive = 9, SoLinger = 13,
        SoRcvTimeo = 20, SoSndTimeo = 21, SoAcceptConn = 30, SoProtocol = 38, SoDomain = 39, SoMemInfo = 55, SoZeroCopy = 60;
    private const int TcpNoDelay = 1, TcpMaxSeg = 2, TcpInfo = 11, TcpCongestion = 13, TcpCcInfo = 26;
    private const int Ipv6V6Only = 26;

    // struct tcp_info up to tcpi_bytes_retrans (include/uapi/linux/tcp.h): the fields the facade can fill.
    private const int TcpInfoLength = 216;

    // Names for the stderr report of an option the shim does not support (the ones Linux's tcp tests use).
    private static string OptionName(int level, int name) => (level, name) switch
    {
        (SolSocket, 15) => "SO_REUSEPORT",
        (SolSocket, 37) => "SO_TIMESTAMPING",
        (SolSocket, 47) => "SO_MAX_PACING_RATE",
        (SolTcp, 3) => "TCP_CORK",
        (SolTcp, 4) => "TCP_KEEPIDLE",
        (SolTcp, 5) => "TCP_KEEPINTVL",
        (SolTcp, 6) => "TCP_KEEPCNT",
        (SolTcp, TcpMaxSeg) => "TCP_MAXSEG",
        (SolTcp, 12) => "TCP_QUICKACK",
        (SolTcp, 18) => "TCP_USER_TIMEOUT",
        (SolTcp, 23) => "TCP_FASTOPEN",
        (SolTcp, 25) => "TCP_NOTSENT_LOWAT",
        (SolTcp, 26) => "TCP_CC_INFO",
        (SolTcp, 30) => "TCP_FASTOPEN_CONNECT",
        (SolTcp, 33) => "TCP_FASTOPEN_KEY",
        (SolTcp, 36) => "TCP_INQ",
        (0, 1) => "IP_TOS",
        (0, 10) => "IP_MTU_DISCOVER",
        (0, 15) => "IP_FREEBIND",
        _ => $"level {level} option {name}",
    };

    // Linux's TCP_* states (include/net/tcp_states.h), by RFC 9293 state.
    private static int LinuxState(TcpConnectionState state) => state switch
    {
        TcpConnectionState.Established => 1,
        TcpConnectionState.SynSent => 2,
        TcpConnectionState.SynReceived => 3,
        TcpConnectionState.FinWait1 => 4,
        TcpConnectionState.FinWait2 => 5,
        TcpConnectionState.TimeWait => 6,
        TcpConnectionState.Closed => 7,
        TcpConnectionState.CloseWait => 8,
        TcpConnectionState.LastAck => 9,
        TcpConnectionState.Listen => 10,
        TcpConnectionState.Closing => 11,
        _ => 0,
    };

    /// <summary>getsockopt(2).</summary>
    public unsafe long GetSocketOption(int fd, int level, int name, byte* value, uint* length)
        => OnDescriptor("getsockopt", fd, descriptor =>
        {
            if (value is null || length is null)
            {
                return -Errno.EFAULT;
            }

            var room = new Span<byte>(value, (int)Math.Min(*length, 4096u));
            StackSocket socket = descriptor.Socket;
            long result;
            switch (level, name)
            {
                case (SolSocket, SoType):
                    result = WriteInt(room, length, socket.SocketType == SocketType.Stream ? SockStream : SockDgram);
                    break;
                case (SolSocket, SoDomain):
                    result = WriteInt(room, length, socket.AddressFamily == AddressFamily.InterNetwork ? NativeSocketAddress.AfInet : NativeSocketAddress.AfInet6);
                    break;
                case (SolSocket, SoProtocol):
                    result = WriteInt(room, length, socket.ProtocolType == ProtocolType.Tcp ? IpProtoTcp : IpProtoUdp);
                    break;
                case (SolSocket, SoError):
                    var pending = (SocketError)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error);
                    result = WriteInt(room, length, pending == SocketError.Success ? 0 : Errno.From(pending));
                    break;
                case (SolSocket, SoReuseAddr):
                    result = WriteInt(room, length, socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress));
                    break;
                case (SolSocket, SoKeepAlive):
                    result = WriteInt(room, length, socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive));
                    break;
                case (SolSocket, SoZeroCopy):
                    result = WriteInt(room, length, descriptor.ZeroCopy ? 1 : 0);
                    break;
                case (SolSocket, SoSndBuf):
                    result = WriteInt(room, length, socket.SendBufferSize);
                    break;
                case (SolSocket, SoRcvBuf):
                    result = WriteInt(room, length, socket.ReceiveBufferSize);
                    break;
                case (SolSocket, SoAcceptConn):
                    result = WriteInt(room, length, socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection));
                    break;
                case (SolSocket, SoLinger):
                    Span<byte> linger = stackalloc byte[8];
                    BinaryPrimitives.WriteInt32LittleEndian(linger, socket.LingerState.Enabled ? 1 : 0);
                    BinaryPrimitives.WriteInt32LittleEndian(linger[4..], socket.LingerState.LingerTime);
                    result = WriteBytes(room, length, linger);
                    break;
                case (SolSocket, SoRcvTimeo):
                    result = WriteTimeval(room, length, descriptor.ReceiveTimeout);
                    break;
                case (SolSocket, SoSndTimeo):
                    result = WriteTimeval(room, length, descriptor.SendTimeout);
                    break;
                case (SolTcp, TcpNoDelay) when socket.ProtocolType == ProtocolType.Tcp:
                    result = WriteInt(room, length, socket.NoDelay ? 1 : 0);
                    break;
                case (SolTcp, TcpMaxSeg) when socket.ProtocolType == ProtocolType.Tcp:
                    result = WriteInt(room, length, socket.MaxSegmentSize);
                    break;
                case (SolTcp, TcpInfo) when socket.ProtocolType == ProtocolType.Tcp:
                    result = WriteTcpInfo(room, length, socket);
                    break;
                case (SolTcp, TcpCcInfo) when socket.ProtocolType == ProtocolType.Tcp:
                    result = WriteCcInfo(room, length, socket);
                    break;
                case (SolSocket, SoMemInfo):
                    result = WriteMemInfo(room, length, socket);
                    break;
                case (SolTcp, TcpCongestion) when socket.ProtocolType == ProtocolType.Tcp:
                    string algorithm = socket.CongestionControlName;
                    Span<byte> text = stackalloc byte[16];
                    text.Clear();
                    Encoding.ASCII.GetBytes(algorithm, text);
                    result = WriteBytes(room, length, text);
                    break;
                case (SolIpv6, Ipv6V6Only) when socket.AddressFamily == AddressFamily.InterNetworkV6:
                    result = WriteInt(room, length, socket.DualMode ? 0 : 1);
                    break;
                case (SolTcp or SolIp or SolIpv6, _) when StreamIntegerOption(level, name, descriptor) is int number:
                    result = WriteInt(room, length, number);
                    break;
                default:
                    result = Unsupported($"getsockopt {OptionName(level, name)}", Errno.ENOPROTOOPT);
                    break;
            }

            return result;
        });

    /// <summary>setsockopt(2).</summary>
    public unsafe long SetSocketOption(int fd, int level, int name, byte* value, uint length)
        => OnDescriptor("setsockopt", fd, descriptor =>
        {
            if (value is null && length > 0)
            {
                return -Errno.EFAULT;
            }

            var given = new ReadOnlySpan<byte>(value, (int)Math.Min(length, 4096u));
            StackSocket socket = descriptor.Socket;
            int number = given.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(given) : 0;
            bool integer = given.Length >= 4;
            int small = integer ? number : given.Length >= 1 ? given[0] : 0; // an int, or the single byte some IP options accept
            long result = (level, name) switch
            {
                (SolSocket, SoReuseAddr) when integer => Try(() => socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, number)),
                (SolSocket, SoKeepAlive) when integer => Try(() => socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, number)),
                // Linux doubles the value (sk_sndbuf = 2 * val, for its bookkeeping) and getsockopt reads the doubled one back.
                (SolSocket, SoSndBuf) when integer => Try(() => { socket.SendBufferSize = 2 * Math.Clamp(number, 0, int.MaxValue / 2); }),
                (SolSocket, SoRcvBuf) when integer => Try(() => { socket.ReceiveBufferSize = 2 * Math.Clamp(number, 0, int.MaxValue / 2); }),
                (SolSocket, SoLinger) when given.Length >= 8 => SetLinger(socket, number != 0, BinaryPrimitives.ReadInt32LittleEndian(given[4..])),
                (SolSocket, SoRcvTimeo) when given.Length >= 16 => SetTimeout(descriptor, receive: true, ReadTimeval(given)),
                (SolSocket, SoSndTimeo) when given.Length >= 16 => SetTimeout(descriptor, receive: false, ReadTimeval(given)),
                (SolTcp, TcpNoDelay) when integer && socket.ProtocolType == ProtocolType.Tcp => Try(() => { socket.NoDelay = number != 0; }),
                (SolTcp, TcpMaxSeg) when integer && socket.ProtocolType == ProtocolType.Tcp => Try(() => { socket.MaxSegmentSize = number; }),
                (SolTcp, TcpCongestion) when socket.ProtocolType == ProtocolType.Tcp => SetCongestion(socket, Encoding.ASCII.GetString(given).TrimEnd('\0')),
                (SolIpv6, Ipv6V6Only) when integer && socket.AddressFamily == AddressFamily.InterNetworkV6 => Try(() => { socket.DualMode = number == 0; }),
                (SolTcp, TcpCork) when integer && socket.ProtocolType == ProtocolType.Tcp => Try(() => { socket.Cork = number != 0; }),
                // Linux tcp_setsockopt: TCP_USER_TIMEOUT in milliseconds, negative is EINVAL.
                (SolTcp, TcpUserTimeout) when integer && socket.ProtocolType == ProtocolType.Tcp
                    => number < 0 ? -Errno.EINVAL : Try(() => { socket.UserTimeout = TimeSpan.FromMilliseconds(number); }),
                (SolTcp, TcpNotSentLowat) when integer && socket.ProtocolType == ProtocolType.Tcp
                    => number < 0 ? -Errno.EINVAL : Try(() => { socket.NotSentLowWatermark = number; }),
                (SolTcp, TcpInq) when integer && socket.ProtocolType == ProtocolType.Tcp => SetReceiveQueueHint(descriptor, number),
                // Linux do_ip_setsockopt: IP_TOS and IP_MTU_DISCOVER take an int, or a single byte when that is all there is.
                (SolIp, IpTos) when given.Length >= 1 && socket.ProtocolType == ProtocolType.Tcp
                    => Try(() => { socket.TypeOfService = (byte)small; }),
                (SolIpv6, Ipv6TrafficClass) when integer && socket.ProtocolType == ProtocolType.Tcp && socket.AddressFamily == AddressFamily.InterNetworkV6
                    => number is < -1 or > 255 ? -Errno.EINVAL : Try(() => { socket.TypeOfService = (byte)Math.Max(0, number); }),
                (SolIp, IpMtuDiscover) when given.Length >= 1 && socket.ProtocolType == ProtocolType.Tcp
                    => SetMtuDiscover(socket, small),
                // Linux sock_setsockopt: SO_ZEROCOPY takes 0 or 1 (EINVAL otherwise); MSG_ZEROCOPY sends then copy (see Send).
                (SolSocket, SoZeroCopy) when integer => number is 0 or 1 ? SetZeroCopy(descriptor, number == 1) : -Errno.EINVAL,
                (SolSocket, SoReuseAddr or SoKeepAlive or SoSndBuf or SoRcvBuf or SoLinger or SoRcvTimeo or SoSndTimeo) => -Errno.EINVAL,
                _ => Unsupported($"setsockopt {OptionName(level, name)}", Errno.ENOPROTOOPT),
            };
            return result;
        });

    private static long SetZeroCopy(SocketDescriptor descriptor, bool on)
    {
        descriptor.ZeroCopy = on;
        return 0;
    }

    /// <summary>The TCP_CM_INQ value recvmsg reports with TCP_INQ on; ENOENT when it is off (no control message).</summary>
    public long ReceiveQueueHint(int fd)
        => OnDescriptor("tcp_inq", fd, descriptor => descriptor.ReceiveQueueHint ? descriptor.Socket.ReceiveQueueHint : -Errno.ENOENT);

    // The integer options of a stream socket that TCP_CORK, TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT,
    // TCP_INQ, IP_TOS, IPV6_TCLASS and IP_MTU_DISCOVER read; null for another option or socket.
    private static int? StreamIntegerOption(int level, int name, SocketDescriptor descriptor)
    {
        StackSocket socket = descriptor.Socket;
        if (socket.ProtocolType != ProtocolType.Tcp)
        {
            return null;
        }

        return (level, name) switch
        {
            (SolTcp, TcpCork) => socket.Cork ? 1 : 0,
            (SolTcp, TcpUserTimeout) => (int)Math.Min(int.MaxValue, socket.UserTimeout.TotalMilliseconds),
            (SolTcp, TcpNotSentLowat) => socket.NotSentLowWatermark,
            (SolTcp, TcpInq) => descriptor.ReceiveQueueHint ? 1 : 0,
            (SolIp, IpTos) => socket.TypeOfService,
            (SolIpv6, Ipv6TrafficClass) when socket.AddressFamily == AddressFamily.InterNetworkV6 => socket.TypeOfService,
            (SolIp, IpMtuDiscover) => socket.DontFragment ? IpPmtuDiscWant : IpPmtuDiscDont,
            _ => null,
        };
    }

    // TCP_INQ: whether recvmsg reports the TCP_CM_INQ hint (Linux: a nonzero value turns it on).
    private static long SetReceiveQueueHint(SocketDescriptor descriptor, int number)
    {
        descriptor.ReceiveQueueHint = number != 0;
        return 0;
    }

    // IP_MTU_DISCOVER: IP_PMTUDISC_DONT sends without DF; WANT, DO, PROBE, INTERFACE and OMIT
    // keep it (TunStack always discovers the path MTU, RFC 1191); another value is EINVAL, as Linux.
    private static long SetMtuDiscover(StackSocket socket, int mode)
    {
        if (mode is < IpPmtuDiscDont or > IpPmtuDiscOmit)
        {
            return -Errno.EINVAL;
        }

        return Try(() => { socket.DontFragment = mode != IpPmtuDiscDont; });
    }

    private static long SetLinger(StackSocket socket, bool enabled, int seconds)
    {
        socket.LingerState = new LingerOption(enabled, Math.Max(0, seconds));
        return 0;
    }

    private static long SetTimeout(SocketDescriptor descriptor, bool receive, TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero)
        {
            return -Errno.EINVAL;
        }

        if (receive)
        {
            descriptor.ReceiveTimeout = timeout;
        }
        else
        {
            descriptor.SendTimeout = timeout;
        }

        return 0;
    }

    private static long SetCongestion(StackSocket socket, string name)
    {
        // Linux: a name no algorithm is registered under is ENOENT.
        return socket.Host.Options.Tcp.CongestionControls.Contains(name) ? Try(() => { socket.CongestionControlName = name; }) : -Errno.ENOENT;
    }

    // struct timeval { long tv_sec; long tv_usec; } on x86-64.
    private static TimeSpan ReadTimeval(ReadOnlySpan<byte> value)
        => TimeSpan.FromSeconds(BinaryPrimitives.ReadInt64LittleEndian(value)) + TimeSpan.FromTicks(BinaryPrimitives.ReadInt64LittleEndian(value[8..]) * TimeSpan.TicksPerMicrosecond);

    private static unsafe long WriteTimeval(Span<byte> room, uint* length, TimeSpan value)
    {
        Span<byte> timeval = stackalloc byte[16];
        long microseconds = value.Ticks / TimeSpan.TicksPerMicrosecond;
        BinaryPrimitives.WriteInt64LittleEndian(timeval, microseconds / 1_000_000);
        BinaryPrimitives.WriteInt64LittleEndian(timeval[8..], microseconds % 1_000_000);
        return WriteBytes(room, length, timeval);
    }

    private static unsafe long WriteInt(Span<byte> room, uint* length, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return WriteBytes(room, length, bytes);
    }

    // As the kernel's copy_to_user of an option: as much as the caller has room for; *length says how much.
    private static unsafe long WriteBytes(Span<byte> room, uint* length, ReadOnlySpan<byte> value)
    {
        int n = Math.Min(room.Length, value.Length);
        value[..n].CopyTo(room);
        *length = (uint)n;
        return 0;
    }

    // TCP_INFO: what TcpConnectionInfo has, at struct tcp_info's offsets; the rest zero.
    private static unsafe long WriteTcpInfo(Span<byte> room, uint* length, StackSocket socket)
    {
        Span<byte> info = stackalloc byte[TcpInfoLength];
        info.Clear();
        TcpConnectionState state = socket.TcpConnectionState;
        info[0] = (byte)LinuxState(state);
        if (socket.GetTcpInfo() is { } tcp)
        {
            int mss = Math.Max(1, tcp.Mss);
            info[1] = (byte)tcp.CongestionState;                                           // tcpi_ca_state: TCP_CA_Open .. TCP_CA_Loss, the same numbers
            BinaryPrimitives.WriteUInt32LittleEndian(info[8..], Micro(tcp.RetransmissionTimeout)); // tcpi_rto
            BinaryPrimitives.WriteUInt32LittleEndian(info[16..], (uint)tcp.Mss);                // tcpi_snd_mss
            BinaryPrimitives.WriteUInt32LittleEndian(info[20..], (uint)tcp.Mss);                // tcpi_rcv_mss
            BinaryPrimitives.WriteUInt32LittleEndian(info[24..], (uint)((tcp.BytesInFlight + mss - 1) / mss)); // tcpi_unacked
            BinaryPrimitives.WriteUInt32LittleEndian(info[28..], (uint)((tcp.SackedBytes + mss - 1) / mss));   // tcpi_sacked
            BinaryPrimitives.WriteUInt32LittleEndian(info[32..], (uint)tcp.LostSegmentsOutstanding); // tcpi_lost (lost_out)
            BinaryPrimitives.WriteUInt32LittleEndian(info[52..], (uint)Math.Clamp((long)tcp.SinceLastDataReceived.TotalMilliseconds, 0, uint.MaxValue)); // tcpi_last_data_recv (ms)
            BinaryPrimitives.WriteUInt32LittleEndian(info[68..], Micro(tcp.SmoothedRtt));       // tcpi_rtt
            BinaryPrimitives.WriteUInt32LittleEndian(info[72..], Micro(tcp.RttVariance));       // tcpi_rttvar
            BinaryPrimitives.WriteUInt32LittleEndian(info[76..], tcp.SlowStartThreshold >= int.MaxValue / 2 ? 0x7fffffffu : (uint)(tcp.SlowStartThreshold / mss)); // tcpi_snd_ssthresh
            BinaryPrimitives.WriteUInt32LittleEndian(info[80..], (uint)(tcp.CongestionWindow / mss)); // tcpi_snd_cwnd
            BinaryPrimitives.WriteUInt32LittleEndian(info[84..], (uint)tcp.AdvertisedMss);      // tcpi_advmss
            BinaryPrimitives.WriteUInt32LittleEndian(info[88..], (uint)tcp.Reordering);         // tcpi_reordering
            BinaryPrimitives.WriteUInt32LittleEndian(info[100..], (uint)tcp.Retransmits);       // tcpi_total_retrans
            BinaryPrimitives.WriteUInt64LittleEndian(info[104..], (ulong)tcp.PacingRateBytesPerSecond); // tcpi_pacing_rate (0 when not paced)
            BinaryPrimitives.WriteUInt64LittleEndian(info[120..], (ulong)tcp.BytesAcked);       // tcpi_bytes_acked
            BinaryPrimitives.WriteUInt64LittleEndian(info[128..], (ulong)tcp.BytesReceived);    // tcpi_bytes_received
            BinaryPrimitives.WriteUInt32LittleEndian(info[148..], tcp.MinRtt == TimeSpan.MaxValue ? 0 : Micro(tcp.MinRtt)); // tcpi_min_rtt
            BinaryPrimitives.WriteUInt64LittleEndian(info[160..], (ulong)tcp.DeliveryRateBytesPerSecond); // tcpi_delivery_rate
            BinaryPrimitives.WriteUInt64LittleEndian(info[168..], MicroLong(tcp.BusyTime));  // tcpi_busy_time (us)
            BinaryPrimitives.WriteUInt64LittleEndian(info[176..], MicroLong(tcp.ReceiveWindowLimitedTime)); // tcpi_rwnd_limited (us)
            BinaryPrimitives.WriteUInt64LittleEndian(info[184..], MicroLong(tcp.SendBufferLimitedTime));    // tcpi_sndbuf_limited (us)
            BinaryPrimitives.WriteUInt64LittleEndian(info[200..], (ulong)tcp.BytesSent);        // tcpi_bytes_sent
            BinaryPrimitives.WriteUInt64LittleEndian(info[208..], (ulong)tcp.BytesRetransmitted); // tcpi_bytes_retrans
        }

        return WriteBytes(room, length, info);
    }

    // SO_MEMINFO: u32 sk_meminfo[SK_MEMINFO_VARS] (include/uapi/linux/sock_diag.h): rmem_alloc, rcvbuf,
    // wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops.
    private static unsafe long WriteMemInfo(Span<byte> room, uint* length, StackSocket socket)
    {
        Span<byte> memory = stackalloc byte[9 * 4];
        memory.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(memory[0..], socket.ProtocolType == ProtocolType.Tcp ? socket.Available : 0);
        BinaryPrimitives.WriteInt32LittleEndian(memory[4..], socket.ReceiveBufferSize);
        BinaryPrimitives.WriteInt32LittleEndian(memory[12..], socket.SendBufferSize);
        return WriteBytes(room, length, memory);
    }

    // TCP_CC_INFO: struct tcp_bbr_info for BBR (bandwidth in bytes per second as two 32-bit
    // halves, RTprop in microseconds, gains in units of 1/256); CUBIC and Reno have nothing
    // algorithm-specific, and Linux answers those with length 0.
    private static unsafe long WriteCcInfo(Span<byte> room, uint* length, StackSocket socket)
    {
        if (socket.GetTcpInfo() is not { Bbr: { } bbr })
        {
            *length = 0;
            return 0;
        }

        Span<byte> info = stackalloc byte[5 * 4];
        ulong bandwidth = (ulong)Math.Max(0, bbr.BottleneckBandwidthBytesPerSecond);
        BinaryPrimitives.WriteUInt32LittleEndian(info[0..], (uint)bandwidth);
        BinaryPrimitives.WriteUInt32LittleEndian(info[4..], (uint)(bandwidth >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(info[8..], Micro(bbr.MinRtt));
        BinaryPrimitives.WriteUInt32LittleEndian(info[12..], (uint)Math.Round(bbr.PacingGain * 256));
        BinaryPrimitives.WriteUInt32LittleEndian(info[16..], (uint)Math.Round(bbr.CwndGain * 256));
        return WriteBytes(room, length, info);
    }

    private static uint Micro(TimeSpan value) => (uint)Math.Clamp(value.Ticks / TimeSpan.TicksPerMicrosecond, 0, uint.MaxValue);

    private static ulong MicroLong(TimeSpan value) => (ulong)Math.Max(0, value.Ticks / TimeSpan.TicksPerMicrosecond);
}
