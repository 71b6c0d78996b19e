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
    private const ushort NlmsgError = 2, NlmsgDone = 3, RtmNewLink = 16, RtmGetLink = 18, RtmSetLink = 19, RtmNewAddr = 20, RtmDelAddr = 21, RtmGetAddr = 22, RtmNewRoute = 24, RtmDelRoute = 25, RtmGetRoute = 26;
    private const ushort NlmFRequest = 0x1, NlmFAck = 0x4, NlmFDump = 0x300, NlmFReplace = 0x100, NlmFExcl = 0x200, NlmFCreate = 0x400;
    private const ushort IflaIfname = 3, IflaMtu = 4, IfaAddress = 1, IfaLocal = 2, IfaFlags = 8, RtaDst = 1, RtaOif = 4, RtaGateway = 5, RtaTable = 15;
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

    /// <summary>Every interface of the namespace by index (RTM_GETLINK dump).</summary>
    public Dictionary<int, string> ListLinks()
    {
        var links = new Dictionary<int, string>();
        var m = new Message(_buffer, RtmGetLink, NlmFRequest | NlmFDump, ++_sequence);
        m.IfInfo(0, 0, 0, 0);
        Dump(m, "RTM_GETLINK dump", 16, (body, attributes) =>
        {
            int index = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
            if (attributes.TryGetValue(IflaIfname, out byte[]? name))
            {
                links[index] = Encoding.UTF8.GetString(name).TrimEnd('\0');
            }
        });
        return links;
    }

    /// <summary>Every address of the namespace with its prefix length and interface index (RTM_GETADDR dump).</summary>
    public List<(int Index, IpPrefix Address)> ListAddresses()
    {
        var addresses = new List<(int, IpPrefix)>();
        var m = new Message(_buffer, RtmGetAddr, NlmFRequest | NlmFDump, ++_sequence);
        m.IfAddr(0, 0, 0, 0, 0);
        Dump(m, "RTM_GETADDR dump", 8, (body, attributes) =>
        {
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
            if ((attributes.GetValueOrDefault(IfaLocal) ?? attributes.GetValueOrDefault(IfaAddress)) is { } bytes && ToAddress(body[0], bytes) is { } address)
            {
                addresses.Add((BinaryPrimitives.ReadInt32LittleEndian(body[4..]), new IpPrefix(address, body[1])));
            }
        });
        return addresses;
    }

    /// <summary>The routes of the main table (RTM_GETROUTE dump): destination, outgoing interface (0 when none), gateway.</summary>
    public List<(IpPrefix Destination, int Index, InternetAddress? Gateway)> ListRoutes()
    {
        var routes = new List<(IpPrefix, int, InternetAddress?)>();
        var m = new Message(_buffer, RtmGetRoute, NlmFRequest | NlmFDump, ++_sequence);
        m.RtMsg(0, 0, 0);
        Dump(m, "RTM_GETROUTE dump", 12, (body, attributes) =>
        {
            uint table = attributes.TryGetValue(RtaTable, out byte[]? t) ? BinaryPrimitives.ReadUInt32LittleEndian(t) : body[4];
            byte family = body[0];
            if (table != RtTableMain || family is not (AfInet or AfInet6))
            {
                return;
            }

            InternetAddress destination = attributes.TryGetValue(RtaDst, out byte[]? d) && ToAddress(family, d) is { } a
                ? a
                : family == AfInet6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4;
            int index = attributes.TryGetValue(RtaOif, out byte[]? oif) ? BinaryPrimitives.ReadInt32LittleEndian(oif) : 0;
            InternetAddress? gateway = attributes.TryGetValue(RtaGateway, out byte[]? g) ? ToAddress(family, g) : null;
            routes.Add((new IpPrefix(destination, body[1]), index, gateway));
        });
        return routes;
    }

    private static InternetAddress? ToAddress(byte family, byte[] bytes) => (family, bytes.Length) switch
    {
        (AfInet, 4) => InternetAddress.FromV4(bytes),
        (AfInet6, 16) => InternetAddress.FromV6(bytes),
        _ => null,
    };

    // Sends a dump request and hands each reply message (its fixed header, then its attributes by
    // type) to visit, until NLMSG_DONE.
    private void Dump(Message message, string operation, int headerLength, Action<ReadOnlySpan<byte>, Dictionary<ushort, byte[]>> visit)
        => Converse(message, operation, (reply, _) =>
        {
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(reply[4..]);
            if (type == NlmsgDone)
            {
                return true;
            }

            if (type == NlmsgError)
            {
                throw Refused(operation, -BinaryPrimitives.ReadInt32LittleEndian(reply[16..]));
            }

            ReadOnlySpan<byte> body = reply[16..];
            int attributes = (headerLength + 3) & ~3;
            if (body.Length >= attributes)
            {
                visit(body, Attributes(body[attributes..]));
            }

            return false;
        });

    private static Dictionary<ushort, byte[]> Attributes(ReadOnlySpan<byte> span)
    {
        var attributes = new Dictionary<ushort, byte[]>();
        while (span.Length >= 4)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(span);
            if (length < 4 || length > span.Length)
            {
                break;
            }

            attributes[(ushort)(BinaryPrimitives.ReadUInt16LittleEndian(span[2..]) & 0x3FFF)] = span[4..length].ToArray();
            span = span[Math.Min(span.Length, (length + 3) & ~3)..];
        }

        return attributes;
    }

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
    private int Exchange(Message message, string operation, int allowErrno = 0, bool expectData = false)
    {
        int result = 0;
        Converse(message, operation, (reply, offset) =>
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(reply[4..]) == NlmsgError)
            {
                int errno = -BinaryPrimitives.ReadInt32LittleEndian(reply[16..]);
                if (errno != 0 && errno != allowErrno)
                {
                    throw Refused(operation, errno);
                }

                result = errno == 0 ? 0 : -1;
                return true;
            }

            if (!expectData)
            {
                return false;
            }

            if (offset != 0)
            {
                _buffer.AsSpan(offset, reply.Length).CopyTo(_buffer);
            }

            return true;
        });
        return result;
    }

    // Sends the request, then reads the kernel's messages, handing each one that answers it (the
    // whole message, header first, and where it starts in _buffer) to read until read returns true.
    private unsafe void Converse(Message message, string operation, Func<ReadOnlySpan<byte>, int, bool> read)
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
                    ReadOnlySpan<byte> reply = _buffer.AsSpan(offset, (int)n - offset);
                    int messageLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(reply);
                    if (messageLength < 16 || messageLength > reply.Length)
                    {
                        break;
                    }

                    if (BinaryPrimitives.ReadUInt32LittleEndian(reply[8..]) == sequence && read(reply[..messageLength], offset))
                    {
                        return;
                    }

                    offset += (messageLength + 3) & ~3;
                }
            }
        }
    }

    // A refusal; EPERM is a missing CAP_NET_ADMIN, said with its fix.
    private static TunException Refused(string operation, int errno)
        => errno == Libc.EPERM
            ? new TunPermissionException(TunException.CapabilityAdvice($"netlink {operation}") + $" ({Libc.Name(errno)})", "CAP_NET_ADMIN", errno)
            : new TunException($"netlink {operation} refused: {Libc.Describe(errno)}", errno);

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
