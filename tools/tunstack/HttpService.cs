using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TunStack.Sockets;
using TunStack.Sockets.AspNetCore;
using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// The daemon's built-in web app (<c>--serve http</c>): ASP.NET Core on Kestrel, with Kestrel's
/// transport being the user-space stack (UseTunStack). "/" is an HTML status page, "/api/stats"
/// the counters and a page of the TCP connection list as JSON (both from a <see cref="StatusSnapshot"/> at most a second old, <c>?page=N&amp;size=K</c>), "/metrics" the stack's meter in the Prometheus text format, "/hello" a fixed line for load tests. HTTP/1.1 and h2c share the port.
/// </summary>
public sealed class HttpService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly PrometheusExporter? _metrics;

    private HttpService(WebApplication app, ushort port, PrometheusExporter? metrics)
    {
        _app = app;
        Port = port;
        _metrics = metrics;
    }

    /// <summary>The port served.</summary>
    public ushort Port { get; }

    /// <summary>
    /// Starts the app on <paramref name="host"/>, all addresses, <paramref name="port"/>; with
    /// <paramref name="meter"/>, "/metrics" serves its instruments in the Prometheus text format.
    /// </summary>
    public static async Task<HttpService> StartAsync(StackHost host, ushort port, ConsoleLog log, StackMeter? meter = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTunStack(host);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenTunStack(new IPEndPoint(IPAddress.IPv6Any, port)));
        WebApplication app = builder.Build();
        var snapshots = new StatusSnapshotCache(host.Runner);
        var page = new StatusPage(snapshots);
        var statistics = new StatisticsJson(snapshots);
        app.MapGet("/", async (HttpRequest request) => Results.Bytes(await page.RenderAsync(PageNumber(request), PageSize(request, StatusPage.DefaultPageSize)).ConfigureAwait(false), "text/html; charset=utf-8"));
        app.MapGet("/api/stats", async (HttpRequest request) => Results.Bytes(await statistics.RenderAsync(PageNumber(request), PageSize(request)).ConfigureAwait(false), "application/json; charset=utf-8"));
        PrometheusExporter? metrics = meter is null ? null : new PrometheusExporter(meter.Meter);
        if (metrics is not null)
        {
            app.MapGet("/metrics", () => Results.Text(metrics.Collect(), PrometheusExporter.ContentType));
        }

        app.MapGet("/hello", () => "hello from TunStack\n"); // a fixed small answer, for load tests (docs/perf.md)
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                log.Warn($"http {context.Request.Method} {context.Request.Path} failed: {e.GetType().Name}: {e.Message}");
                throw;
            }

            log.Debug($"http {context.Request.Protocol} {context.Request.Method} {context.Request.Path} {context.Response.StatusCode} from {context.Connection.RemoteIpAddress}");
        });
        await app.StartAsync().ConfigureAwait(false);
        return new HttpService(app, port, metrics);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _metrics?.Dispose();
    }

    // ?page=N (1-based) and ?size=K (at most StatusSnapshot.MaxPageSize); anything else is the default.
    private static int PageNumber(HttpRequest request)
        => int.TryParse(request.Query["page"], NumberStyles.None, CultureInfo.InvariantCulture, out int page) && page > 0 ? page : 1;

    private static int PageSize(HttpRequest request, int defaultSize = StatusSnapshot.DefaultPageSize)
        => int.TryParse(request.Query["size"], NumberStyles.None, CultureInfo.InvariantCulture, out int size) && size > 0 ? Math.Min(size, StatusSnapshot.MaxPageSize) : defaultSize;

    /// <summary>
    /// Every TCP connection with the counters, read under the stack's gate: what the SIGUSR1 dump
    /// logs. The status page and /api/stats use a <see cref="StatusSnapshot"/> instead, paged.
    /// </summary>
    public sealed record Statistics(IReadOnlyList<string> Addresses, IReadOnlyDictionary<string, long> Counters, IReadOnlyList<ConnectionRow> Connections, int TimeWait)
    {
        /// <summary>Reads the stack (under its gate).</summary>
        public static Statistics Take(StackHost host)
        {
            ArgumentNullException.ThrowIfNull(host);
            return Take(host.Runner);
        }

        /// <summary>Reads the stack of <paramref name="runner"/> (under its gate).</summary>
        public static Statistics Take(StackRunner runner) => Take(new StackPartitions([runner]));

        /// <summary>Reads every partition of <paramref name="stack"/> (each under its gate, one after the other), the counters summed.</summary>
        public static Statistics Take(StackPartitions stack)
        {
            ArgumentNullException.ThrowIfNull(stack);
            var rows = new List<ConnectionRow>();
            List<string> addresses = [];
            int timeWait = 0;
            foreach (StackRunner runner in stack.Runners)
            {
                using StackCall call = runner.Enter();
                rows.AddRange(call.Stack.ListTcpConnections().Select(ConnectionRow.Of));
                addresses = call.Stack.Addresses.Select(a => a.ToString()).ToList();
                timeWait += call.Stack.TcpConnections.TimeWait;
            }

            return new Statistics(addresses, stack.Counters.Snapshot(), rows, timeWait);
        }
    }

    /// <summary>One TCP connection in /api/stats.</summary>
    public sealed record ConnectionRow(string Local, string Remote, string State, int Unread, double SrttMs, double RtoMs, int Cwnd, int Ssthresh, bool InRecovery, int SendSpace)
    {
        /// <summary>The row of <paramref name="c"/> (on the stack's thread).</summary>
        public static ConnectionRow Of(Tcp.TcpConnection c)
        {
            ArgumentNullException.ThrowIfNull(c);
            return new(c.Tuple.Local.ToString(), c.Tuple.Remote.ToString(), c.State.ToString(), c.Available, c.SmoothedRtt.TotalMilliseconds, c.RetransmissionTimeout.TotalMilliseconds, c.CongestionWindow, c.SlowStartThreshold, c.InRecovery, c.SendSpace);
        }
    }
}
