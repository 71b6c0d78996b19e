// A complete embedded app (docs/embedding.md): one process owns a user-space stack with its own
// IP address, serves HTTP from ASP.NET Core through it, and fetches from itself with HttpClient
// through the same stack. Program.cs of a real app would call RunOnTunAsync; the tests call RunAsync
// with a host over a MemoryLink.
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TunStack.Ip;
using TunStack.Sockets;
using TunStack.Sockets.AspNetCore;
using TunStack.Tun;

namespace TunStack.Examples;

public static class EmbeddedApp
{
    /// <summary>The app on a TUN device in its own network namespace (needs CAP_NET_ADMIN and CAP_SYS_ADMIN).</summary>
    public static async Task<string> RunOnTunAsync()
    {
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.60.0.2/24"));
        var tun = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "app0" },
            KernelAddresses = new[] { IpPrefix.Parse("10.60.0.1/24") },
            Namespace = "embedded-app",
        };
        using StackHost host = StackHost.StartOnTun(tun, options);
        return await RunAsync(host, IPAddress.Parse("10.60.0.2"));
    }

    /// <summary>Serves on <paramref name="address"/>:8080 of <paramref name="host"/> and fetches from it.</summary>
    public static async Task<string> RunAsync(StackHost host, IPAddress address)
    {
        // The server: an ordinary minimal API; only the transport differs.
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTunStack(host);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenTunStack(new IPEndPoint(IPAddress.Any, 8080)));
        await using WebApplication app = builder.Build();
        app.MapGet("/hello", (HttpContext c) => $"hello {c.Connection.RemoteIpAddress} over {c.Request.Protocol}");
        await app.StartAsync();

        // The client: HttpClient whose connections dial through the stack.
        using var client = new HttpClient(host.CreateHttpHandler());
        string reply = await client.GetStringAsync(new Uri($"http://{address}:8080/hello"));

        await app.StopAsync();
        return reply;
    }
}
