// errno -> SocketError, in one place (docs/sockets.md has the table with when each happens).
using System.Net.Sockets;

namespace TunStack.Sockets;

/// <summary>Turns the core's errno-named <see cref="StackError"/> into the BCL's <see cref="SocketError"/>.</summary>
public static class SocketErrors
{
    /// <summary>The <see cref="SocketError"/> for <paramref name="error"/>.</summary>
    public static SocketError ToSocketError(StackError error) => error switch
    {
        StackError.None => SocketError.Success,
        StackError.WouldBlock => SocketError.WouldBlock,
        StackError.AddressInUse => SocketError.AddressAlreadyInUse,
        StackError.AddressNotAvailable => SocketError.AddressNotAvailable,
        StackError.AddressFamilyNotSupported => SocketError.AddressFamilyNotSupported,
        StackError.NetworkUnreachable => SocketError.NetworkUnreachable,
        StackError.HostUnreachable => SocketError.HostUnreachable,
        StackError.ConnectionRefused => SocketError.ConnectionRefused,
        StackError.ConnectionReset => SocketError.ConnectionReset,
        StackError.BrokenPipe => SocketError.Shutdown, // EPIPE
        StackError.TimedOut => SocketError.TimedOut,
        StackError.MessageTooLong => SocketError.MessageSize,
        StackError.InvalidArgument => SocketError.InvalidArgument,
        StackError.NotConnected => SocketError.NotConnected,
        StackError.IsConnected => SocketError.IsConnected,
        StackError.DestinationAddressRequired => SocketError.DestinationAddressRequired,
        StackError.AccessDenied => SocketError.AccessDenied,
        StackError.ProtocolError => SocketError.ProtocolType,
        StackError.ProtocolUnreachable => SocketError.ProtocolNotSupported,
        StackError.NoBufferSpace => SocketError.NoBufferSpaceAvailable,
        StackError.Closed => SocketError.Shutdown,
        _ => SocketError.SocketError,
    };

    /// <summary>A <see cref="SocketException"/> for <paramref name="error"/>.</summary>
    public static SocketException Exception(SocketError error) => new((int)error);

    /// <summary>The throwing form of an <c>out SocketError</c> call: its result, or the exception for its error.</summary>
    internal static int ResultOrThrow(int result, SocketError error) => error == SocketError.Success ? result : throw Exception(error);
}
