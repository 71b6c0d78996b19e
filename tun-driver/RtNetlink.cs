// rtnetlink (rtnetlink(7), netlink(7)): link, address and route configuration over an
// AF_NETLINK socket, written here rather than by running `ip`.
using System.Buffers.Binary;
using System.Text;
using TunStack.Ip;
using TunStack.Tun.Interop;

namespace TunStack.Tun;

/// <summary>
/// An rtnetlink socket bound to the network namespace it was opened in (open it inside
/// <see cref="NetworkNamespace.Run{T}"/> to configure another namespace). Every request asks for
/// an acknowledgement; a refusal throws <see cref="TunException"/> naming the operation and errno.
/// Not thread-safe.
/// </summary>
internal sealed class RtNetlink : IDisposable
{
    private const ushort NlmsgError = 2, RtmNewLink = 16, RtmGetLink = 18, RtmSetLink = 19, RtmNewAddr = 20, RtmDelAddr = 21, RtmNewRoute = 24, RtmDelRoute = 25;
    private const ushort NlmFRequest = 0x1, NlmFAck = 0x4, NlmFReplace = 0x100, NlmFExcl = 0x200, NlmFCreate = 0x400;
    private const ushort IflaIfname = 3, IflaMtu = 4, IfaAddress = 1, IfaLocal = 2, IfaFlags = 8, RtaDst = 1, RtaOif = 4, RtaGateway = 5;
    private const uint IffUp = 1, IfaFNodad = 0x02;
    private const byte AfInet = 2, AfInet6 = 10, RtTableMain = 254, RtProtBoot = 3, RtScopeUniverse = 0, RtScopeLink = 253, RtnUnicast = 1;

    private readonly SafeFileDescriptor _socket;
    private readonly byte[] _buffer = new byte[16384];
    private uint _sequence;

    private RtNetlink(SafeFileDescriptor socket) => _socket = socket;

    /// <summary>Opens an rtnetlink socket in the calling thread's network namespace.</summary>
    public static unsafe RtNetlink Open()
    {
        int fd = Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE);
        if (fd < 0)
        {
            throw new TunException($"cannot open an rtnetlink socket: {Libc.Describe(Libc.LastError)}", Libc.LastError);
        }

        var handle = new SafeFileDescriptor(fd);
        var address = new Libc.SockAddrNetlink { Family = Libc.AF_NETLINK };
        var timeout = new Libc.TimeValue { Seconds = 5 };
        if (Libc.Bind(fd, &address, (uint)sizeof(Libc.SockAddrNetlink)) != 0
            || Libc.SetSocketOption(fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, &timeout, (uint)sizeof(Libc.TimeValue)) != 0)
        {
            int errno = Libc.LastError;
            handle.Dispose();
            throw new TunException($"cannot bind an rtnetlink socket: {Libc.Describe(errno)}", errno);
        }

        return new RtNetlink(handle);
    }

    /// <summary>The interface index of <paramref name="name"/>, or 0 when there is none.</summary>
    public int GetLinkIndex(string name)
    {
        var m = new Message(_buffer, RtmGetLink, NlmFRequest, ++_sequence);
        m.IfInfo(0, 0, 0, 0);
        m.Attribute(IflaIfname, Encoding.UTF8.GetBytes(name + "\0"));
        int reply = Exchange(m, $"RTM_GETLINK {name}", allowErrno: Libc.ENODEV, expectData: true);
        // Reply: nlmsghdr (16) + ifinfomsg, whose index is at offset 4.
        return reply < 0 ? 0 : BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(16 + 4));
    }

    /// <summary>Sets the link administratively up or down.</summary>
    public void SetLinkUp(int index, bool up)
    {
        var m = new Message(_buffer, RtmNewLink, NlmFRequest | NlmFAck, ++_sequence);
        m.IfInfo(0, index, up ? IffUp : 0, IffUp);
        Exchange(m, $"RTM_NEWLINK {(up ? "up" : "down")} on interface {index}");
    }

    /// <summary>Sets the link MTU.</summary>
    public void SetMtu(int index, int mtu)
    {
        var m = new Message(_buffer, RtmSetLink, NlmFRequest | NlmFAck, ++_sequence);
        m.IfInfo(0, index, 0, 0);
        m.AttributeU32(IflaMtu, (uint)mtu);
        Exchange(m, $"RTM_SETLINK mtu {mtu} on interface {index}");
    }

    /// <summary>
    /// Adds <paramref name="address"/> (with its prefix length) to the interface; with
    /// <paramref name="peer"/>, the point-to-point peer. IPv6 addresses skip duplicate address
    /// detection (IFA_F_NODAD) so they are usable at once on a point-to-point TUN.
    /// </summary>
    public void AddAddress(int index, IpPrefix address, InternetAddress? peer = null)
        => ChangeAddress(RtmNewAddr, NlmFRequest | NlmFAck | NlmFCreate | NlmFExcl, index, address, peer);

    /// <summary>Removes an address.</summary>
    public void RemoveAddress(int index, IpPrefix address, InternetAddress? peer = null)
        => ChangeAddress(RtmDelAddr, NlmFRequest | NlmFAck, index, address, peer);

    /// <summary>Adds a route to <paramref name="destination"/> out of the interface, through <paramref name="gateway"/> if given.</summary>
    public void AddRoute(IpPrefix destination, int index, InternetAddress? gateway = null)
        => ChangeRoute(RtmNewRoute, NlmFRequest | NlmFAck | NlmFCreate | NlmFReplace, destination, index, gateway);

    /// <summary>Removes a route.</summary>
    public void RemoveRoute(IpPrefix destination, int index, InternetAddress? gateway = null)
        => ChangeRoute(RtmDelRoute, NlmFRequest | NlmFAck, destination, index, gateway);

    private void ChangeAddress(ushort type, ushort flags, int index, IpPrefix address, InternetAddress? peer)
    {
        bool v6 = address.Address.IsV6;
        var m = new Message(_buffer, type, flags, ++_sequence);
        m.IfAddr(v6 ? AfInet6 : AfInet, (byte)address.Length, v6 ? (byte)IfaFNodad : (byte)0, RtScopeUniverse, index);
        m.AttributeAddress(IfaLocal, address.Address);
        m.AttributeAddress(IfaAddress, peer ?? address.Address);
        if (v6)
        {
            m.AttributeU32(IfaFlags, IfaFNodad);
        }

        string what = type == RtmNewAddr ? "RTM_NEWADDR" : "RTM_DELADDR";
        Exchange(m, $"{what} {address}{(peer is { } p ? $" peer {p}" : string.Empty)} on interface {index}");
    }

    private void ChangeRoute(ushort type, ushort flags, IpPrefix destination, int index, InternetAddress? gateway)
    {
        bool v6 = destination.Address.IsV6;
        var m = new Message(_buffer, type, flags, ++_sequence);
        m.RtMsg(v6 ? AfInet6 : AfInet, (byte)destination.Length, gateway is null ? RtScopeLink : RtScopeUniverse);
        if (destination.Length > 0)
        {
            m.AttributeAddress(RtaDst, destination.Address);
        }

        m.AttributeU32(RtaOif, (uint)index);
        if (gateway is { } g)
        {
            m.AttributeAddress(RtaGateway, g);
        }

        string what = type == RtmNewRoute ? "RTM_NEWROUTE" : "RTM_DELROUTE";
        Exchange(m, $"{what} {destination}{(gateway is { } gw ? $" via {gw}" : string.Empty)} on interface {index}");
    }

    // Sends one request and reads until its answer: an acknowledgement (NLMSG_ERROR with 0), a
    // refusal (NLMSG_ERROR with -errno) or, for a query, the data reply left at the start of _buffer.
    private unsafe int Exchange(Message message, string operation, int allowErrno = 0, bool expectData = false)
    {
        int length = message.Finish();
        uint sequence = _sequence;
        fixed (byte* data = _buffer)
        {
            if (Libc.Send(_socket.Fd, data, (nuint)length, 0) != length)
            {
                int errno = Libc.LastError;
                throw new TunException($"netlink {operation}: send failed: {Libc.Describe(errno)}", errno);
            }

            while (true)
            {
                nint n = Libc.Receive(_socket.Fd, data, (nuint)_buffer.Length, 0);
                if (n < 0)
                {
                    int errno = Libc.LastError;
                    throw new TunException($"netlink {operation}: no answer: {Libc.Describe(errno)}", errno);
                }

                for (int offset = 0; offset + 16 <= n;)
                {
                    ReadOnlySpan<byte> header = _buffer.AsSpan(offset);
                    int messageLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(header);
                    ushort type = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
                    uint seq = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
                    if (messageLength < 16)
                    {
                        break;
                    }

                    if (seq == sequence)
                    {
                        if (type == NlmsgError)
                        {
                            int errno = -BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
                            if (errno == 0)
                            {
                                return 0;
                            }

                            if (errno == allowErrno)
                            {
                                return -1;
                            }

                            throw new TunException($"netlink {operation} refused: {Libc.Describe(errno)}", errno);
                        }

                        if (expectData)
                        {
                            if (offset != 0)
                            {
                                _buffer.AsSpan(offset, messageLength).CopyTo(_buffer);
                            }

                            return 0;
                        }
                    }

                    offset += (messageLength + 3) & ~3;
                }
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();

    private ref struct Message
    {
        private readonly Span<byte> _b;
        private int _length;

        public Message(Span<byte> buffer, ushort type, ushort flags, uint sequence)
        {
            _b = buffer;
            _b[..64].Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(_b[4..], type);
            BinaryPrimitives.WriteUInt16LittleEndian(_b[6..], flags);
            BinaryPrimitives.WriteUInt32LittleEndian(_b[8..], sequence);
            _length = 16;
        }

        public void IfInfo(byte family, int index, uint flags, uint change)
        {
            Span<byte> m = _b.Slice(_length, 16);
            m.Clear();
            m[0] = family;
            BinaryPrimitives.WriteInt32LittleEndian(m[4..], index);
            BinaryPrimitives.WriteUInt32LittleEndian(m[8..], flags);
            BinaryPrimitives.WriteUInt32LittleEndian(m[12..], change);
            _length += 16;
        }

        public void IfAddr(byte family, byte prefixLength, byte flags, byte scope, int index)
        {
            Span<byte> m = _b.Slice(_length, 8);
            m[0] = family;
            m[1] = prefixLength;
            m[2] = flags;
            m[3] = scope;
            BinaryPrimitives.WriteInt32LittleEndian(m[4..], index);
            _length += 8;
        }

        public void RtMsg(byte family, byte destinationLength, byte scope)
        {
            Span<byte> m = _b.Slice(_length, 12);
            m.Clear();
            m[0] = family;
            m[1] = destinationLength;
            m[4] = RtTableMain;
            m[5] = RtProtBoot;
            m[6] = scope;
            m[7] = RtnUnicast;
            _length += 12;
        }

        public void Attribute(ushort type, scoped ReadOnlySpan<byte> value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_b[_length..], (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(_b[(_length + 2)..], type);
            value.CopyTo(_b[(_length + 4)..]);
            int padded = (4 + value.Length + 3) & ~3;
            _b.Slice(_length + 4 + value.Length, padded - 4 - value.Length).Clear();
            _length += padded;
        }

        public void AttributeU32(ushort type, uint value)
        {
            Span<byte> v = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(v, value);
            Attribute(type, v);
        }

        public void AttributeAddress(ushort type, InternetAddress address)
        {
            Span<byte> v = stackalloc byte[16];
            Attribute(type, v[..address.WriteTo(v)]);
        }

        public int Finish()
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_b, (uint)_length);
            return _length;
        }
    }
}
