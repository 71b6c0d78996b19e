using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TunStack.Perf;

/// <summary>
/// The daemon's /hello endpoint on Kestrel's own socket transport (the kernel's TCP), the
/// reference for wrk against `tunstack up --serve http` (perf/http-vs-kernel.sh).
/// </summary>
public static class KernelKestrel
{
    public static async Task Run(IPAddress address, int port)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(address, port));
        await using WebApplication app = builder.Build();
        app.MapGet("/hello", () => "hello from TunStack\n");
        await app.StartAsync();
        Console.WriteLine($"ready: kestrel on kernel sockets at {address}:{port}");
        await app.WaitForShutdownAsync(CancellationToken.None);
    }
}
