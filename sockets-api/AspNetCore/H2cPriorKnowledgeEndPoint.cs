using System.Net;
using System.Net.Sockets;

namespace TunStack.Sockets.AspNetCore;

/// <summary>
/// The h2c ("HTTP/2 with prior knowledge") side of an IP endpoint on the stack. Kestrel serves
/// cleartext HTTP/2 only on an endpoint whose Protocols are Http2, so
/// <see cref="TunStackWebHostBuilderExtensions.ListenTunStack"/> binds the plain endpoint for
/// HTTP/1.1 and this one for HTTP/2; both share the port (the transport routes by the preface).
/// </summary>
public sealed class H2cPriorKnowledgeEndPoint : EndPoint
{
    /// <summary>The h2c side of <paramref name="endPoint"/>.</summary>
    public H2cPriorKnowledgeEndPoint(IPEndPoint endPoint) => EndPoint = endPoint ?? throw new ArgumentNullException(nameof(endPoint));

    /// <summary>The shared IP endpoint.</summary>
    public IPEndPoint EndPoint { get; }

    /// <inheritdoc/>
    public override AddressFamily AddressFamily => EndPoint.AddressFamily;

    /// <inheritdoc/>
    public override string ToString() => $"h2c://{EndPoint}";
}
