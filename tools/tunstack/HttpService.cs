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
/// the counters and the TCP connection list as JSON, "/metrics" the stack's meter in the Prometheus text format, "/hello" a fixed line for load tests. HTTP/1.1 and h2c share the port.
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
        app.MapGet("/", () => Results.Content(StatusPage(host), "text/html; charset=utf-8"));
        app.MapGet("/api/stats", () => Results.Json(Statistics.Take(host)));
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

    private static string StatusPage(StackHost host)
    {
        Statistics s = Statistics.Take(host);
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>TunStack</title>")
            .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style></head><body>")
            .Append("<h1>TunStack</h1><p>Served by ASP.NET Core through the TunStack user-space TCP/IP stack.</p>")
            .Append(CultureInfo.InvariantCulture, $"<p>Addresses: {WebUtility.HtmlEncode(string.Join(", ", s.Addresses))}. TCP connections: {s.Connections.Count} ({s.TimeWait} in TIME-WAIT).</p>")
            .Append("<h2>Connections</h2><table><tr><th>local</th><th>remote</th><th>state</th><th>unread</th><th>srtt ms</th></tr>");
        foreach (ConnectionRow c in s.Connections)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{c.Local}</td><td>{c.Remote}</td><td>{c.State}</td><td>{c.Unread}</td><td>{c.SrttMs:0.###}</td></tr>");
        }

        html.Append("</table><h2>Counters</h2><table>");
        foreach ((string name, long value) in s.Counters)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{name}</td><td>{value}</td></tr>");
        }

        return html.Append("</table><p>JSON: <a href=\"/api/stats\">/api/stats</a></p></body></html>").ToString();
    }

    /// <summary>What /api/stats returns.</summary>
    public sealed record Statistics(IReadOnlyList<string> Addresses, IReadOnlyDictionary<string, long> Counters, IReadOnlyList<ConnectionRow> Connections, int TimeWait)
    {
        /// <summary>Reads the stack (under its gate).</summary>
        public static Statistics Take(StackHost host)
        {
            ArgumentNullException.ThrowIfNull(host);
            return Take(host.Runner);
        }

        /// <summary>Reads the stack of <paramref name="runner"/> (under its gate).</summary>
        public static Statistics Take(StackRunner runner)
        {
            ArgumentNullException.ThrowIfNull(runner);
            using StackCall call = runner.Enter();
            var rows = call.Stack.ListTcpConnections()
                .Select(c => new ConnectionRow(c.Tuple.Local.ToString(), c.Tuple.Remote.ToString(), c.State.ToString(), c.Available, c.SmoothedRtt.TotalMilliseconds, c.RetransmissionTimeout.TotalMilliseconds, c.CongestionWindow, c.SlowStartThreshold, c.InRecovery, c.SendSpace))
                .ToList();
            return new Statistics(call.Stack.Addresses.Select(a => a.ToString()).ToList(), runner.Counters.Snapshot(), rows, call.Stack.TcpConnections.TimeWait);
        }
    }

    /// <summary>One TCP connection in /api/stats.</summary>
    public sealed record ConnectionRow(string Local, string Remote, string State, int Unread, double SrttMs, double RtoMs, int Cwnd, int Ssthresh, bool InRecovery, int SendSpace);
}
