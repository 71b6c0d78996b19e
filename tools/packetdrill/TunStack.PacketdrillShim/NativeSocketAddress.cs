// struct sockaddr_in and sockaddr_in6 as Linux lays them out, read and written from the caller's memory.
using System.Buffers.Binary;
using System.Net;

namespace TunStack.PacketdrillShim;

/// <summary>Reads and writes <c>sockaddr_in</c> (16 bytes) and <c>sockaddr_in6</c> (28 bytes).</summary>
internal static unsafe class NativeSocketAddress
{
    public const ushort AfUnspec = 0;
    public const ushort AfInet = 2;
    public const ushort AfInet6 = 10;
    private const int InetLength = 16;
    private const int Inet6Length = 28;

    /// <summary>
    /// The endpoint in <paramref name="address"/> (null for AF_UNSPEC), or the errno why there is
    /// none (EFAULT, EINVAL, EAFNOSUPPORT).
    /// </summary>
    public static int TryRead(byte* address, uint length, out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (address is null)
        {
            return Errno.EFAULT;
        }

        if (length < 2)
        {
            return Errno.EINVAL;
        }

        var bytes = new ReadOnlySpan<byte>(address, (int)Math.Min(length, Inet6Length));
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
        switch (family)
        {
            case AfInet when length >= InetLength:
                endPoint = new IPEndPoint(new IPAddress(bytes.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]));
                return 0;
            case AfInet6 when length >= Inet6Length:
                endPoint = new IPEndPoint(new IPAddress(bytes.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..])), BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]));
                return 0;
            case AfInet or AfInet6:
                return Errno.EINVAL;
            case AfUnspec:
                return 0; // AF_UNSPEC: no endpoint (connect dissolves a datagram socket's peer with it)
            default:
                return Errno.EAFNOSUPPORT;
        }
    }

    /// <summary>
    /// Writes <paramref name="endPoint"/> into the caller's buffer of <c>*length</c> bytes, truncating
    /// as the kernel does, and stores the full length in <c>*length</c>. Nothing happens when either pointer is null.
    /// </summary>
    public static void Write(IPEndPoint endPoint, byte* address, uint* length)
    {
        if (address is null || length is null)
        {
            return;
        }

        Span<byte> full = stackalloc byte[Inet6Length];
        full.Clear();
        int size;
        if (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            size = InetLength;
            BinaryPrimitives.WriteUInt16LittleEndian(full, AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(full[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(full.Slice(4, 4), out _);
        }
        else
        {
            size = Inet6Length;
            BinaryPrimitives.WriteUInt16LittleEndian(full, AfInet6);
            BinaryPrimitives.WriteUInt16BigEndian(full[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(full.Slice(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(full[24..], (uint)endPoint.Address.ScopeId);
        }

        int room = (int)Math.Min(*length, (uint)size);
        full[..room].CopyTo(new Span<byte>(address, room));
        *length = (uint)size;
    }
}
