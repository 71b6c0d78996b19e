using System.Net.Sockets;

namespace TunStack.Tests.Sockets;

/// <summary>Assertions on socket calls that fail the POSIX way.</summary>
internal static class SocketAssert
{
    /// <summary>The <see cref="SocketError"/> (errno) of the <see cref="SocketException"/> that <paramref name="call"/> must throw.</summary>
    public static SocketError ErrorOf(Action call) => Assert.Throws<SocketException>(call).SocketErrorCode;
}
