using System.Text.Json.Nodes;
using TunStack.Lab;
using TunStack.Tests.Cli;

namespace TunStack.Tests.Lab;

public class LabScenarioParserTests
{
    // Two hosts through one router; every later test breaks one thing in a copy of it.
    private const string Valid = """
        {
          "name": "pair",
          "seed": 3,
          "duration": "2s",
          "hosts": [
            { "name": "h1", "ipv4": "10.9.1.1/24", "tcp": { "congestion": "newreno", "send_buffer": "64KiB" } },
            { "name": "h2", "ipv4": "10.9.2.1/24", "ipv6": "fd09::2" }
          ],
          "routers": [ { "name": "r1", "routes": [ { "to": "10.9.2.0/24", "via": "h2" } ] } ],
          "links": [
            { "a": "h1", "b": "r1", "rate": "10mbit", "delay": "5ms" },
            { "a": "r1", "b": "h2", "rate": "10mbit", "delay": "5ms", "loss": "1%",
              "queue": { "discipline": "red", "min_threshold": 5, "max_threshold": 20, "max_p": "10%" },
              "b_to_a": { "loss": { "p": "1%", "r": "10%", "loss_bad": "50%" } } }
          ],
          "flows": [ { "name": "f1", "kind": "bulk", "from": "h1", "to": "h2", "bytes": "1MB" } ]
        }
        """;

    private static JsonNode Scenario() => JsonNode.Parse(Valid)!;

    private static string Error(JsonNode scenario) => Assert.Throws<LabScenarioException>(() => LabScenarioParser.Parse(scenario.ToJsonString())).Message;

    [Fact]
    public void ValidScenario_Parsed_FieldsAndDefaultsRead()
    {
        LabScenario s = LabScenarioParser.Parse(Valid);
        Assert.Equal(("pair", 3, 2_000_000L, 10_000L), (s.Name, s.Seed, s.DurationMicros, s.SampleIntervalMicros));
        Assert.Equal("newreno", s.Hosts[0].Congestion);
        Assert.Equal(64 * 1024, s.Hosts[0].SendBuffer);
        Assert.Equal("r1-h2", s.Links[1].Name);
        Assert.Equal(0.01, s.Links[1].AToB.Loss.StationaryLoss, 9);
        Assert.True(s.Links[1].BToA.Loss.GilbertElliott);
        Assert.Equal(5_000, s.Links[1].BToA.DelayMicros); // the direction keeps the link's other settings
        Assert.Equal(LabQueueKind.Red, s.Links[1].AToB.Queue.Kind);
        Assert.Equal(1_000_000, s.Flows[0].Bytes);
        Assert.Equal(5001, s.Flows[0].Port);
    }

    [Fact]
    public void BadDuration_Parsed_NamesFieldPathAndValue()
    {
        JsonNode s = Scenario();
        s["links"]![1]!["delay"] = "20xs";
        Assert.StartsWith("links[1].delay: \"20xs\" is not a duration", Error(s));
    }

    [Fact]
    public void BadRate_Parsed_NamesField()
    {
        JsonNode s = Scenario();
        s["links"]![0]!["rate"] = "10 furlongs";
        Assert.StartsWith("links[0].rate: \"10 furlongs\" is not a rate", Error(s));
    }

    [Fact]
    public void BadSize_Parsed_NamesField()
    {
        JsonNode s = Scenario();
        s["flows"]![0]!["bytes"] = "lots";
        Assert.StartsWith("flows[0].bytes: \"lots\" is not a size", Error(s));
    }

    [Fact]
    public void ProbabilityOver100Percent_Parsed_NamesField()
    {
        JsonNode s = Scenario();
        s["links"]![1]!["b_to_a"]!["loss"]!["loss_bad"] = "150%";
        Assert.StartsWith("links[1].b_to_a.loss.loss_bad: \"150%\" is not a probability", Error(s));
    }

    [Fact]
    public void UnknownProperty_Parsed_RefusedWithItsPath()
    {
        JsonNode s = Scenario();
        s["links"]![0]!["dealy"] = "5ms";
        Assert.Equal("links[0].dealy: unknown property", Error(s));
    }

    [Fact]
    public void UnknownNestedProperty_Parsed_RefusedWithItsPath()
    {
        JsonNode s = Scenario();
        s["links"]![1]!["queue"]!["min"] = 3;
        Assert.Equal("links[1].queue.min: unknown property", Error(s));
    }

    [Fact]
    public void MissingRequiredField_Parsed_SaysRequired()
    {
        JsonNode s = Scenario();
        s.AsObject().Remove("duration");
        Assert.Equal("duration: is required", Error(s));
    }

    [Fact]
    public void WrongJsonType_Parsed_SaysWhatWasExpected()
    {
        JsonNode s = Scenario();
        s["seed"] = "one";
        Assert.Equal("seed: expected a whole number, not \"one\"", Error(s));
    }

    [Fact]
    public void NotJson_Parsed_SaysSoWithLine()
    {
        Assert.StartsWith("not valid JSON at line", Assert.Throws<LabScenarioException>(() => LabScenarioParser.Parse("{\n \"name\": ")).Message);
    }

    [Fact]
    public void LinkToUnknownNode_Parsed_NamesEndpoint()
    {
        JsonNode s = Scenario();
        s["links"]![1]!["b"] = "h9";
        Assert.Equal("links[1].b: \"h9\" is not a host or router", Error(s));
    }

    [Fact]
    public void HostOnTwoLinks_Parsed_Refused()
    {
        JsonNode s = Scenario();
        s["links"]!.AsArray().Add(JsonNode.Parse("""{ "name": "extra", "a": "h1", "b": "h2" }"""));
        Assert.StartsWith("links[2].a: host \"h1\" is on links[0] already", Error(s));
    }

    [Fact]
    public void UnknownCongestionControl_Parsed_ListsKnownNames()
    {
        JsonNode s = Scenario();
        s["flows"]![0]!["congestion"] = "vegas";
        // The known names are LabRunner.CongestionControls' (the docs example registers one more in this process).
        string error = Error(s);
        Assert.StartsWith("flows[0].congestion: \"vegas\" is not a congestion control (known: \"bbr\", \"cubic\", ", error);
        Assert.Contains("\"newreno\", \"reno\"", error);
    }

    [Fact]
    public void UnknownFlowKind_Parsed_ListsKinds()
    {
        JsonNode s = Scenario();
        s["flows"]![0]!["kind"] = "stream";
        Assert.StartsWith("flows[0].kind: \"stream\" is not a flow kind", Error(s));
    }

    [Fact]
    public void UnknownQueueDiscipline_Parsed_ListsDisciplines()
    {
        JsonNode s = Scenario();
        s["links"]![1]!["queue"] = JsonNode.Parse("""{ "discipline": "fq" }""");
        Assert.Equal("links[1].queue.discipline: \"fq\" is not a queue discipline (droptail, red or codel)", Error(s));
    }

    [Fact]
    public void RedThresholdsReversed_Parsed_Refused()
    {
        JsonNode s = Scenario();
        s["links"]![1]!["queue"]!["max_threshold"] = 2;
        Assert.Equal("links[1].queue.max_threshold: must be above min_threshold", Error(s));
    }

    [Fact]
    public void DuplicateFlowName_Parsed_Refused()
    {
        JsonNode s = Scenario();
        s["flows"]!.AsArray().Add(JsonNode.Parse("""{ "name": "f1", "kind": "udp_cbr", "from": "h2", "to": "h1", "rate": "1mbit" }"""));
        Assert.Equal("flows[1].name: \"f1\" is used twice", Error(s));
    }

    [Fact]
    public void FlowOverIpv6ToHostWithout_Parsed_Refused()
    {
        JsonNode s = Scenario();
        s["flows"]![0]!["family"] = "ipv6";
        Assert.Equal("flows[0].from: host \"h1\" has no ipv6 address", Error(s));
    }

    [Fact]
    public void RouteViaNonNeighbour_Parsed_Refused()
    {
        JsonNode s = Scenario();
        s["routers"]![0]!["routes"]![0]!["via"] = "r7";
        Assert.StartsWith("routers[0].routes[0].via: \"r7\" is not a neighbour of r1", Error(s));
    }

    [Fact]
    public void BadName_Parsed_Refused()
    {
        JsonNode s = Scenario();
        s["hosts"]![0]!["name"] = "h 1";
        Assert.StartsWith("hosts[0].name: \"h 1\" is not a name", Error(s));
    }

    [Fact]
    public void BadScenarioFile_LabRun_OneLineAndExitCode2()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lab-bad-{Environment.ProcessId}.json");
        JsonNode s = Scenario();
        s["links"]![1]!["delay"] = "20xs";
        File.WriteAllText(path, s.ToJsonString());
        try
        {
            InProcessCli.AssertRefused(new[] { "lab", "run", path }, $"{Path.GetFileName(path)}: links[1].delay: \"20xs\" is not a duration");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--duration", "soon", "--duration: \"soon\" is not a duration")]
    [InlineData("--seed", "x", "x")]
    public void BadArgument_LabRun_OneLineAndExitCode2(string option, string value, string expected)
    {
        string path = Path.Combine(RepositoryRoot.Path, "docs", "lab", "dumbbell.json");
        InProcessCli.AssertRefused(new[] { "lab", "run", path, option, value }, expected);
    }

    [Fact]
    public void MissingScenarioFile_LabRun_OneLineAndExitCode2()
    {
        InProcessCli.AssertRefused(new[] { "lab", "run", "/nonexistent/scenario.json" }, "cannot read");
    }
}
