using TunStack.Lab;

namespace TunStack.Tests.Lab;

public class LabFlowTests
{
    // h1 and h2 on r1; r1 reaches h2 directly or, with the explicit route, the long way through r2.
    // Send buffers of about one bandwidth-delay product, so that what a writer stops writing stops soon after.
    private static string Triangle(string routes, string flows) => $$"""
        {
          "name": "triangle", "seed": 2, "duration": "3s",
          "hosts": [
            { "name": "h1", "ipv4": "10.6.1.1/24", "ipv6": "fd06:1::1/64", "tcp": { "send_buffer": "96KiB", "auto_tune": false } },
            { "name": "h2", "ipv4": "10.6.2.1/24", "ipv6": "fd06:2::1/64", "tcp": { "send_buffer": "96KiB", "auto_tune": false } }
          ],
          "routers": [ { "name": "r1", "routes": [ {{routes}} ] }, { "name": "r2" }, { "name": "r3" } ],
          "links": [
            { "a": "h1", "b": "r1", "rate": "20mbit", "delay": "1ms" },
            { "name": "direct", "a": "r1", "b": "r3", "rate": "20mbit", "delay": "5ms" },
            { "name": "detour-1", "a": "r1", "b": "r2", "rate": "20mbit", "delay": "5ms" },
            { "name": "detour-2", "a": "r2", "b": "r3", "rate": "20mbit", "delay": "5ms" },
            { "a": "r3", "b": "h2", "rate": "20mbit", "delay": "1ms" }
          ],
          "flows": [ {{flows}} ]
        }
        """;

    private static LabRunResult Run(string json)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"lab-flow-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            return LabRunner.Run(LabScenarioParser.Parse(json), directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static LabLinkResult Link(LabRunResult result, string name) => result.Links.Single(l => l.Name == name);

    [Fact]
    public void RequestResponseWithCount_Run_CompletesWithEveryByteBothWays()
    {
        LabRunResult result = Run(Triangle(string.Empty, """{ "name": "rr", "kind": "rr", "from": "h1", "to": "h2", "request": "1000B", "response": "20KB", "count": 10 }"""));
        LabFlowResult rr = Assert.Single(result.Flows);
        Assert.Null(rr.Failure);
        Assert.Equal(10 * (1000 + 20_000), rr.Bytes);
        Assert.NotNull(rr.CompletionSeconds);
        Assert.InRange(rr.CompletionSeconds!.Value, 10 * 0.022, 1.0); // at least a 22 ms round trip each
    }

    [Fact]
    public void UdpConstantBitRate_Run_ReceivedRateIsTheConfiguredRate()
    {
        LabRunResult result = Run(Triangle(string.Empty, """{ "name": "cbr", "kind": "udp_cbr", "from": "h1", "to": "h2", "rate": "1mbit", "packet_size": "500B", "family": "ipv6" }"""));
        LabFlowResult cbr = Assert.Single(result.Flows);
        Assert.Null(cbr.Congestion);
        Assert.Equal(0, cbr.Retransmits);
        Assert.InRange(cbr.GoodputBitsPerSecond, 0.98e6, 1.0e6); // the last datagrams are still on the way at the end
    }

    [Fact]
    public void OnOffSource_Run_SendsOnlyDuringOnPeriods()
    {
        string flows = """
            { "name": "always", "kind": "bulk", "from": "h1", "to": "h2", "stop": "2s" },
            { "name": "half", "kind": "onoff", "from": "h2", "to": "h1", "on": "500ms", "off": "500ms", "stop": "2s" }
            """;
        LabRunResult result = Run(Triangle(string.Empty, flows));
        double always = result.Flows[0].Bytes, half = result.Flows[1].Bytes;
        Assert.InRange(half / always, 0.4, 0.6);
    }

    [Fact]
    public void NoExplicitRoute_Run_PacketsTakeTheShortestPath()
    {
        LabRunResult result = Run(Triangle(string.Empty, """{ "name": "f", "kind": "bulk", "from": "h1", "to": "h2", "bytes": "1MB" }"""));
        Assert.NotNull(result.Flows[0].CompletionSeconds);
        Assert.True(Link(result, "direct").Delivered > 600);
        Assert.Equal(0, Link(result, "detour-1").Delivered);
    }

    [Fact]
    public void ExplicitRouteThroughR2_Run_DataTakesTheDetourAndAcksTheDirectWay()
    {
        LabRunResult result = Run(Triangle("""{ "to": "10.6.2.0/24", "via": "r2" }""", """{ "name": "f", "kind": "bulk", "from": "h1", "to": "h2", "bytes": "1MB" }"""));
        Assert.NotNull(result.Flows[0].CompletionSeconds);
        Assert.True(Link(result, "detour-1").Delivered > 600, "data h1 -> h2 goes r1 -> r2 -> r3");
        Assert.True(Link(result, "detour-2").Delivered > 600);
        Assert.True(Link(result, "direct").Delivered > 100, "ACKs h2 -> h1 go r3 -> r1");
    }
}
