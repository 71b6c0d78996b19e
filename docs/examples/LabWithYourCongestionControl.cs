// docs/examples/LabWithYourCongestionControl.cs: registers DelayAimdCongestionControl with the
// lab by name, then runs a scenario in which it and CUBIC each send alone through a 10 Mbit/s
// bottleneck with a 300-packet queue for 20 s of virtual time, and prints what summary.json says.
//   dotnet run --project docs/examples -- lab-congestion
using System;
using System.IO;
using TunStack.Lab;

namespace TunStack.Examples;

public static class LabWithYourCongestionControl
{
    private const string Scenario = """
        {
          "name": "your-algorithm",
          "duration": "20s",
          "hosts": [
            { "name": "a1", "ipv4": "10.5.1.1/24" }, { "name": "b1", "ipv4": "10.5.2.1/24" },
            { "name": "a2", "ipv4": "10.6.1.1/24" }, { "name": "b2", "ipv4": "10.6.2.1/24" }
          ],
          "routers": [ { "name": "r1" }, { "name": "r2" } ],
          "links": [
            { "name": "mine", "a": "a1", "b": "r1", "rate": "10mbit", "delay": "10ms", "queue": { "packets": 300 } },
            { "a": "r1", "b": "b1", "rate": "1gbit", "delay": "1ms", "capture": false },
            { "name": "cubic", "a": "a2", "b": "r2", "rate": "10mbit", "delay": "10ms", "queue": { "packets": 300 } },
            { "a": "r2", "b": "b2", "rate": "1gbit", "delay": "1ms", "capture": false }
          ],
          "flows": [
            { "name": "mine", "kind": "bulk", "from": "a1", "to": "b1", "congestion": "delay-aimd" },
            { "name": "cubic", "kind": "bulk", "from": "a2", "to": "b2", "congestion": "cubic" }
          ]
        }
        """;

    public static void Run(TextWriter output)
    {
        // Once per process: from now on every scenario may name it, like "cubic" or "bbr".
        if (!LabRunner.CongestionControls.Contains(DelayAimdCongestionControl.RegisteredName))
        {
            LabRunner.CongestionControls.Register(DelayAimdCongestionControl.RegisteredName, mss => new DelayAimdCongestionControl(mss));
        }

        string directory = Directory.CreateTempSubdirectory("lab-your-algorithm-").FullName;
        try
        {
            string scenario = Path.Combine(directory, "scenario.json");
            File.WriteAllText(scenario, Scenario);
            LabRunResult result = LabRunner.Run(scenario, Path.Combine(directory, "out"), report: false);
            foreach (LabFlowResult flow in result.Flows)
            {
                LabLinkResult queue = result.Links[flow.Name == "mine" ? 0 : 2];
                output.WriteLine($"{flow.Name} ({flow.Congestion}): {flow.GoodputBitsPerSecond / 1e6:0.00} Mbit/s, queue delay p50 {queue.QueueDelayP50Milliseconds:0.0} ms");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
