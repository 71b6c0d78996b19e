using System.Text.Json;
using TunStack.Cli;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Tests.Sockets;

namespace TunStack.Tests.Cli;

/// <summary>
/// The daemon's status page and /api/stats: served from a snapshot at most a second old (one short
/// turn on the stack's thread however many requests come), paged, and summarised by state; a page
/// reads only its own rows from the stack.
/// </summary>
public sealed class StatusPageTests : IDisposable
{
    // ASP.NET Core's Results.Json writes camelCase, as JsonSerializerDefaults.Web.
    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);
    private readonly SocketHost _stack = new(StackClock.Real);
    private readonly List<StackSocket> _sockets = new();

    public void Dispose()
    {
        _sockets.ForEach(s => s.Dispose());
        _stack.Dispose();
    }

    [Fact]
    public async Task SnapshotOf250Connections_PageTwoOfHundred_RowsHundredOneToTwoHundredAndLinksBothWays()
    {
        StatusSnapshot snapshot = Synthetic(250);

        string html = StatusPage.Render(snapshot, await snapshot.PageAsync(2, 100), snapshot.Taken);

        Assert.Contains("Connections, page 2 of 3", html);
        Assert.Contains("<td>10.0.0.1:10101</td>", html);
        Assert.Contains("<td>10.0.0.1:10200</td>", html);
        Assert.DoesNotContain("<td>10.0.0.1:10100</td>", html);
        Assert.DoesNotContain("<td>10.0.0.1:10201</td>", html);
        Assert.Contains("<a href=\"/?page=1&amp;size=100#connections\">previous</a>", html);
        Assert.Contains("<a href=\"/?page=3&amp;size=100#connections\">next</a>", html);
        Assert.Contains("<tr><td>Established</td><td class=\"n\">200</td></tr>", html);
        Assert.Contains("<tr><td>CloseWait</td><td class=\"n\">50</td></tr>", html);
        Assert.Equal(100, html.Split("<tr><td>10.0.0.1:").Length - 1);
        Assert.Contains("<tr><td>TcpEstablished</td><td class=\"n\">7</td></tr>", html);
        Assert.DoesNotContain("TcpResetsSent", html.Replace("<a href", string.Empty, StringComparison.Ordinal).Split("<h2>Counters</h2>")[0]);
    }

    [Fact]
    public async Task PageBeyondTheLast_Rendered_TheLastPage()
    {
        StatusSnapshot snapshot = Synthetic(250);

        string html = StatusPage.Render(snapshot, await snapshot.PageAsync(99, 100), snapshot.Taken);

        Assert.Contains("Connections, page 3 of 3", html);
        Assert.Contains("<span>next</span>", html);
        Assert.Equal(50, html.Split("<tr><td>10.0.0.1:").Length - 1);
    }

    [Fact]
    public async Task ManyRequestsAtOnce_GetAsync_OneSnapshotWithTheStacksCountsAndEveryConnectionOnItsPages()
    {
        ConnectPairs(7200, 3);
        var cache = new StatusSnapshotCache(_stack.Host.Runner);

        StatusSnapshot[] snapshots = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(cache.GetAsync)));

        Assert.Equal(1, cache.Taken);
        Assert.All(snapshots, s => Assert.Same(snapshots[0], s));
        Assert.Equal(6, snapshots[0].ConnectionCount);
        Assert.Equal(new KeyValuePair<string, int>("Established", 6), Assert.Single(snapshots[0].States));
        StatusRows first = await snapshots[0].PageAsync(1, 4);
        StatusRows second = await snapshots[0].PageAsync(2, 4);
        Assert.Equal((1, 2, 4), (first.Page, first.Pages, first.Rows.Count));
        Assert.Equal(2, second.Rows.Count);
        Assert.Equal(6, first.Rows.Concat(second.Rows).Select(r => (r.Local, r.Remote)).Distinct().Count());
    }

    [Fact]
    public async Task SnapshotOf250Connections_PageAskedForTwice_ItsRowsReadOnceAndOnlyItsOwn()
    {
        var reads = new List<(int Start, int Count)>();
        StatusSnapshot snapshot = Synthetic(250, reads);

        StatusRows once = await snapshot.PageAsync(3, 100);
        StatusRows again = await snapshot.PageAsync(3, 100);
        StatusRows clamped = await snapshot.PageAsync(7, 100);

        Assert.Same(once, again);
        Assert.Same(once, clamped);
        Assert.Equal([(200, 100)], reads);
        Assert.Equal(50, once.Rows.Count);
    }

    [Fact]
    public async Task SnapshotOlderThanMaxAge_GetAsync_TakesANewOneThatSeesTheNewConnection()
    {
        ConnectPairs(7210, 1);
        var cache = new StatusSnapshotCache(_stack.Host.Runner) { MaxAge = TimeSpan.FromMilliseconds(50) };
        StatusSnapshot first = await cache.GetAsync();
        ConnectPairs(7211, 1);

        await Task.Delay(100);
        StatusSnapshot second = await cache.GetAsync();

        Assert.Equal(2, cache.Taken);
        Assert.Equal(2, first.ConnectionCount);
        Assert.Equal(4, second.ConnectionCount);
    }

    [Fact]
    public async Task SamePageWithinASnapshot_RenderAsync_SameStringNotRenderedAgain()
    {
        ConnectPairs(7220, 1);
        var page = new StatusPage(new StatusSnapshotCache(_stack.Host.Runner) { MaxAge = TimeSpan.FromMinutes(1) });

        byte[] first = await page.RenderAsync(1, StatusPage.DefaultPageSize);
        byte[] second = await page.RenderAsync(1, StatusPage.DefaultPageSize);

        Assert.Same(first, second);
        string html = System.Text.Encoding.UTF8.GetString(first);
        Assert.Contains("TCP connections: 2 (0 in TIME-WAIT)", html);
        Assert.Contains("<tr><td>TcpEstablished</td><td class=\"n\">", html);
        Assert.True(first.Length < 8 * 1024, $"{first.Length} bytes");
    }

    [Fact]
    public async Task SamePageWithinASnapshot_StatisticsJson_SameBytesNotSerializedAgainAndTheSnapshotsTime()
    {
        ConnectPairs(7230, 2);
        var statistics = new StatisticsJson(new StatusSnapshotCache(_stack.Host.Runner) { MaxAge = TimeSpan.FromMinutes(1) });

        byte[] first = await statistics.RenderAsync(1, StatusSnapshot.DefaultPageSize);
        byte[] second = await statistics.RenderAsync(1, StatusSnapshot.DefaultPageSize);

        Assert.Same(first, second);
        using JsonDocument document = JsonDocument.Parse(first);
        Assert.Equal(4, document.RootElement.GetProperty("connectionCount").GetInt32());
        Assert.Equal(4, document.RootElement.GetProperty("connections").GetArrayLength());
        DateTime taken = document.RootElement.GetProperty("taken").GetDateTime();
        Assert.InRange(DateTime.UtcNow - taken, TimeSpan.Zero, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task OneSnapshot_TwoStatisticsPages_ShareTheSnapshotsStateDictionaryInItsOrder()
    {
        StatusSnapshot snapshot = Synthetic(250);

        StatisticsPage first = StatisticsPage.Of(snapshot, await snapshot.PageAsync(1, 100));
        StatisticsPage second = StatisticsPage.Of(snapshot, await snapshot.PageAsync(2, 100));

        Assert.Same(snapshot.StateCounts, first.States);
        Assert.Same(first.States, second.States);
        Assert.Equal(snapshot.States, first.States);
    }

    [Fact]
    public async Task StatisticsPage_AsJson_CountsPagesAndOnePageOfRows()
    {
        StatusSnapshot snapshot = Synthetic(250);

        string json = JsonSerializer.Serialize(StatisticsPage.Of(snapshot, await snapshot.PageAsync(3, 100)), s_web);

        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        Assert.Equal(250, root.GetProperty("connectionCount").GetInt32());
        Assert.Equal(3, root.GetProperty("page").GetInt32());
        Assert.Equal(3, root.GetProperty("pages").GetInt32());
        Assert.Equal(50, root.GetProperty("connections").GetArrayLength());
        Assert.Equal(200, root.GetProperty("states").GetProperty("Established").GetInt32());
        Assert.Equal(7, root.GetProperty("counters").GetProperty("TcpEstablished").GetInt64());
    }

    // A snapshot of a table of CONNECTIONS rows; reads, when given, records each read of rows (start, count).
    private static StatusSnapshot Synthetic(int connections, List<(int Start, int Count)>? reads = null)
    {
        var rows = Enumerable.Range(1, connections)
            .Select(i => new HttpService.ConnectionRow($"10.0.0.1:{10000 + i}", $"10.0.0.2:{20000 + i}", i <= 200 ? "Established" : "CloseWait", 0, 1.5, 200, 14600, int.MaxValue / 2, false, 1000))
            .ToList();
        return new StatusSnapshot(DateTime.UtcNow, ["10.0.0.1/24"], new Dictionary<string, long> { ["TcpEstablished"] = 7, ["TcpResetsSent"] = 0 },
            [new("Established", 200), new("CloseWait", connections - 200)], 0, (start, count) =>
            {
                reads?.Add((start, count));
                return Task.FromResult<IReadOnlyList<HttpService.ConnectionRow>>(rows.Skip(start).Take(count).ToList());
            });
    }

    private void ConnectPairs(int port, int count)
    {
        StackSocket listener = _stack.Listen(port);
        _sockets.Add(listener);
        for (int i = 0; i < count; i++)
        {
            StackSocket client = _stack.Tcp();
            client.Connect(SocketHost.At(port));
            _sockets.Add(client);
            _sockets.Add(listener.Accept());
        }
    }
}
