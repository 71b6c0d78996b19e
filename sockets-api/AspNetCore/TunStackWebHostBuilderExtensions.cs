using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace TunStack.Sockets.AspNetCore;

/// <summary>Puts Kestrel on a TunStack stack.</summary>
public static class TunStackWebHostBuilderExtensions
{
    /// <summary>
    /// Makes Kestrel serve through <paramref name="host"/> instead of the kernel's sockets: every
    /// endpoint Kestrel listens on (<c>options.ListenAnyIP(80)</c>, <c>UseUrls("http://*:80")</c>)
    /// becomes a listener on the user-space stack. HTTP/1.1 and HTTP/2 (h2c with prior knowledge,
    /// on endpoints whose Protocols include Http2) both work.
    /// </summary>
    public static IWebHostBuilder UseTunStack(this IWebHostBuilder builder, StackHost host)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(host);
        return builder.ConfigureServices(services => services.AddSingleton<IConnectionListenerFactory>(new StackConnectionListenerFactory(host)));
    }

    /// <summary>
    /// Listens on <paramref name="endPoint"/> of the stack for HTTP/1.1 and, on the same port,
    /// HTTP/2 with prior knowledge (h2c): <c>curl http://addr/</c> and
    /// <c>curl --http2-prior-knowledge http://addr/</c> both work. Needs <see cref="UseTunStack"/>.
    /// </summary>
    public static void ListenTunStack(this KestrelServerOptions options, IPEndPoint endPoint, Action<ListenOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endPoint);
        options.Listen(endPoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            configure?.Invoke(listen);
        });
        options.Listen(new H2cPriorKnowledgeEndPoint(endPoint), listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            configure?.Invoke(listen);
        });
    }
}
