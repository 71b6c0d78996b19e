using System.Net;
using System.Net.Sockets;

namespace TunStack.Sockets;

/// <summary>An address of family AF_UNSPEC: connecting a datagram socket to it dissolves its default peer.</summary>
public sealed class UnspecifiedEndPoint : EndPoint
{
    /// <summary>The one instance.</summary>
    public static UnspecifiedEndPoint Instance { get; } = new();

    /// <inheritdoc/>
    public override AddressFamily AddressFamily => AddressFamily.Unspecified;
}
