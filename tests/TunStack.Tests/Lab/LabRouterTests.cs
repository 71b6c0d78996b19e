using System.Buffers.Binary;
using TunStack.Lab;
using TunStack.Wire;

namespace TunStack.Tests.Lab;

public class LabRouterTests
{
    // h1 -- r1 == r2 -- h2, where r1 == r2 has the given MTU and the host links 1500.
    private static string NarrowMiddle(int middleMtu, string flow, string r1Extra = "", string routes1 = "", string routes2 = "") => $$"""
        {
          "name": "narrow", "seed": 1, "duration": "3s",
          "hosts": [
            { "name": "h1", "ipv4": "10.6.1.1/24", "ipv6": "fd06:1::1/64" },
            { "name": "h2", "ipv4": "10.6.2.1/24", "ipv6": "fd06:2::1/64" }
          ],
          "routers": [ { "name": "r1"{{r1Extra}}{{routes1}} }, { "name": "r2"{{routes2}} } ],
          "links": [
            { "a": "h1", "b": "r1", "rate": "100mbit", "delay": "1ms" },
            { "a": "r1", "b": "r2", "rate": "20mbit", "delay": "5ms", "mtu": {{middleMtu}} },
            { "a": "r2", "b": "h2", "rate": "100mbit", "delay": "1ms" }
          ],
          "flows": [ {{flow}} ]
        }
        """;

    private static LabRunResult Run(string json)
    {
        LabScenario scenario = LabScenarioParser.Parse(json);
        string directory = Path.Combine(Path.GetTempPath(), $"lab-router-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            return LabRunner.Run(scenario, directory, report: false);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("ipv4")]
    [InlineData("ipv6")]
    public void TcpFlow_NarrowerLinkBehindRouter_IcmpTooBigLowersTheSegmentSizeAndTheFlowCompletes(string family)
    {
        LabRunResult result = Run(NarrowMiddle(1280, $$"""{ "name": "f", "kind": "bulk", "from": "h1", "to": "h2", "family": "{{family}}", "bytes": "500KB" }"""));

        LabRouterResult r1 = result.Routers.Single(r => r.Name == "r1");
        Assert.True(r1.TooBig >= 1, $"r1 dropped {r1.TooBig} packets as too big");
        Assert.True(r1.IcmpSent >= 1, $"r1 sent {r1.IcmpSent} ICMP errors");
        Assert.Equal(0, r1.Fragmented); // TCP sets DF (IPv4), and IPv6 routers never fragment
        LabFlowResult flow = result.Flows.Single();
        Assert.Null(flow.Failure);
        Assert.NotNull(flow.CompletionSeconds);
        Assert.Equal(500_000, flow.Bytes);
    }

    [Fact]
    public void TcpFlow_RouterSendsNoIcmp_PathMtuBlackHoleLetsNoFullSegmentThrough()
    {
        LabRunResult result = Run(NarrowMiddle(1280, """{ "name": "f", "kind": "bulk", "from": "h1", "to": "h2", "bytes": "500KB" }""", r1Extra: """, "icmp": false"""));

        LabRouterResult r1 = result.Routers.Single(r => r.Name == "r1");
        Assert.True(r1.TooBig >= 1);
        Assert.Equal(0, r1.IcmpSent);
        LabFlowResult flow = result.Flows.Single();
        Assert.Null(flow.CompletionSeconds);
        Assert.Equal(0, flow.Bytes); // every data segment is 1500 bytes: all vanish (the handshake passed)
        Assert.True(flow.Retransmits > 0);
    }

    [Fact]
    public void UdpFlow_DatagramsLargerThanTheMiddleLink_RouterFragmentsAndTheReceiverReassembles()
    {
        LabRunResult result = Run(NarrowMiddle(1280, """{ "name": "u", "kind": "udp_cbr", "from": "h1", "to": "h2", "rate": "1mbit", "packet_size": "1400B" }"""));

        LabRouterResult r1 = result.Routers.Single(r => r.Name == "r1");
        Assert.True(r1.Fragmented > 200, $"{r1.Fragmented} packets fragmented"); // 1 Mbit/s of 1400 B for 3 s: about 268 datagrams
        Assert.Equal(0, r1.TooBig);
        LabFlowResult flow = result.Flows.Single();
        Assert.True(flow.Bytes > 0.9 * 1_000_000 / 8 * 3, $"{flow.Bytes} bytes received");
        Assert.Equal(0, flow.Bytes % 1400); // whole datagrams only
    }

    [Fact]
    public void RoutingLoop_TtlRunsOut_TimeExceededGoesBackAndNothingArrives()
    {
        // r1 sends h2's prefix to r2 and r2 sends it back to r1: the SYN circles until its TTL ends.
        LabRunResult result = Run(NarrowMiddle(1500, """{ "name": "f", "kind": "bulk", "from": "h1", "to": "h2", "bytes": "10KB" }""",
            routes1: """, "routes": [ { "to": "10.6.2.0/24", "via": "r2" } ]""", routes2: """, "routes": [ { "to": "10.6.2.0/24", "via": "r1" } ]"""));

        long expired = result.Routers.Sum(r => r.Expired);
        Assert.True(expired >= 1, $"{expired} packets expired");
        Assert.Equal(expired, result.Routers.Sum(r => r.IcmpSent)); // one error per expired packet, none rate-limited
        LabFlowResult flow = result.Flows.Single();
        Assert.Equal(0, flow.Bytes);

        // The Time Exceeded reaches the connecting stack, which gives up as Linux does in SYN-SENT
        // (tcp_v4_err: EHOSTUNREACH ends a connection attempt).
        Assert.NotNull(flow.Failure);
        Assert.Contains("Unreachable", flow.Failure);
    }

    [Fact]
    public void Fragmenter_PacketWithCopiedAndUncopiedOptions_LaterFragmentsKeepOnlyCopiedOnesAndDataReassembles()
    {
        // 24-byte header: Router Alert (type 148, copied) then End of Option List; 3000 bytes of data.
        byte[] original = new byte[28 + 3000];
        original[0] = 0x47; // IHL 7: 28 bytes, with Record Route (type 7, not copied, 4 bytes) after Router Alert
        BinaryPrimitives.WriteUInt16BigEndian(original.AsSpan(2), (ushort)original.Length);
        BinaryPrimitives.WriteUInt16BigEndian(original.AsSpan(4), 0x1234);
        original[8] = 63;
        original[9] = IpProtocol.Udp;
        new byte[] { 10, 6, 1, 1, 10, 6, 2, 1 }.CopyTo(original, 12);
        new byte[] { 148, 4, 0, 0, 7, 3, 4, 0 }.CopyTo(original, 20);
        for (int i = 28; i < original.Length; i++)
        {
            original[i] = (byte)i;
        }

        BinaryPrimitives.WriteUInt16BigEndian(original.AsSpan(10), InternetChecksum.Compute(original.AsSpan(0, 28)));
        List<LabPacket> fragments = LabFragmenter.Fragment(new LabPacket(original), 1000);

        var data = new List<byte>();
        for (int i = 0; i < fragments.Count; i++)
        {
            Assert.True(Ipv4Packet.TryCreate(fragments[i].Data, out Ipv4Packet f));
            Assert.True(f.IsChecksumValid);
            Assert.True(f.TotalLength <= 1000);
            Assert.Equal(0x1234, f.Identification);
            Assert.Equal(data.Count, f.FragmentOffset);
            Assert.Equal(i < fragments.Count - 1, f.MoreFragments);
            Assert.Equal(i == 0 ? 28 : 24, f.HeaderLength);
            Assert.Equal(148, f.Options[0]);
            if (i > 0)
            {
                Assert.Equal(new byte[] { 148, 4, 0, 0 }, f.Options.ToArray());
            }

            Assert.True(i == fragments.Count - 1 || f.Payload.Length % 8 == 0);
            data.AddRange(f.Payload.ToArray());
        }

        Assert.Equal(original.AsSpan(28).ToArray(), data.ToArray());
    }

    [Fact]
    public void Scenario_RouterAddressThatIsAHosts_RefusedNamingTheField()
    {
        string json = NarrowMiddle(1500, """{ "name": "f", "kind": "bulk", "from": "h1", "to": "h2" }""", r1Extra: """, "ipv4": "10.6.2.1" """);
        var error = Assert.Throws<LabScenarioException>(() => LabScenarioParser.Parse(json));
        Assert.Contains("routers[0].ipv4", error.Message);
    }
}
