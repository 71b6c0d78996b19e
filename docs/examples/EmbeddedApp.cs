// docs/examples/EmbeddedApp.cs: a complete embedded app (docs/embedding.md). One process owns a
// user-space stack with its own IP address on a TUN device in a network namespace, serves HTTP
// from ASP.NET Core through it, fetches from itself with HttpClient through the same stack, and
// then serves until Ctrl-C, so that the kernel side of the namespace can reach it too:
//   sudo dotnet run --project docs/examples -- embedded-app
//   sudo ip netns exec embedded-app curl http://10.60.0.2:8080/hello
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TunStack;
using TunStack.Ip;
using TunStack.Sockets;
using TunStack.Sockets.AspNetCore;
using TunStack.Tun;

namespace TunStack.Examples;

public static class EmbeddedApp
{
    /// <summary>
    /// The app on a TUN device in network namespace <paramref name="netns"/>, which it creates
    /// (CAP_NET_ADMIN for the device, CAP_SYS_ADMIN for the namespace): fetches once, prints the
    /// answer, then serves until Ctrl-C or <paramref name="stop"/>. Without a privilege it prints
    /// which one is missing and how to get it, and returns 1.
    /// </summary>
    public static async Task<int> RunOnTunAsync(TextWriter output, TextWriter error, string netns = "embedded-app", CancellationToken stop = default)
    {
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.60.0.2/24"));
        var tun = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "app0" },
            KernelAddresses = new[] { IpPrefix.Parse("10.60.0.1/24") },
            Namespace = netns,
        };
        StackHost host;
        try
        {
            host = StackHost.StartOnTun(tun, options);
        }
        catch (TunPermissionException e)
        {
            error.WriteLine($"embedded-app: {e.Message}");
            return 1;
        }

        using (host)
        {
            await using WebApplication app = await StartServerAsync(host);
            output.WriteLine(await FetchAsync(host, IPAddress.Parse("10.60.0.2")));
            output.WriteLine($"serving http://10.60.0.2:8080/hello in network namespace {netns} until Ctrl-C");
            await app.WaitForShutdownAsync(stop);
        }

        return 0;
    }

    /// <summary>Serves on port 8080 of <paramref name="host"/>, fetches from <paramref name="address"/> once, stops, and returns the answer.</summary>
    public static async Task<string> RunAsync(StackHost host, IPAddress address)
    {
        await using WebApplication app = await StartServerAsync(host);
        string reply = await FetchAsync(host, address);
        await app.StopAsync();
        return reply;
    }

    // The server: an ordinary minimal API; only the transport differs.
    private static async Task<WebApplication> StartServerAsync(StackHost host)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTunStack(host);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenTunStack(new IPEndPoint(IPAddress.Any, 8080)));
        WebApplication app = builder.Build();
        app.MapGet("/hello", (HttpContext c) => $"hello {c.Connection.RemoteIpAddress} over {c.Request.Protocol}");
        await app.StartAsync();
        return app;
    }

    // The client: HttpClient whose connections dial through the stack.
    private static async Task<string> FetchAsync(StackHost host, IPAddress address)
    {
        using var client = new HttpClient(host.CreateHttpHandler());
        return await client.GetStringAsync(new System.Uri($"http://{address}:8080/hello"));
    }
}
