using System.CommandLine;
using System.Globalization;
using TunStack.Ip;
using TunStack.Lab.Replay;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack replay CAPTURE [--out FILE] [--address ADDR]... [--after SECONDS] [--seed N]</c>:
/// feeds a pcap or pcapng capture to a stack in virtual time (see <see cref="CaptureReplay"/>),
/// writes the replay as pcapng and prints what happened with the stack's counters.
/// </summary>
public static class ReplayCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var capture = new Argument<string>("capture") { Description = "A pcap or pcapng file (Ethernet, Linux cooked, loopback or raw IP)." };
        var outPath = new Option<string?>("--out", "-o") { Description = "Where to write the replay as pcapng (default: CAPTURE's name with .replay.pcapng, in the current directory)." };
        var addresses = new Option<string[]>("--address", "-a") { Description = "The captured host's address, which the stack takes (repeatable; default: the destination of the capture's first SYN).", AllowMultipleArgumentsPerToken = false };
        var after = new Option<double>("--after") { Description = "Seconds of virtual time the stack runs after the last packet.", DefaultValueFactory = _ => 1.0 }.Number(0.0, 86_400.0);
        var seed = new Option<int>("--seed") { Description = "The stack's random seed (initial sequence numbers): the same seed gives the same replay.", DefaultValueFactory = _ => 1 }.Number<int>();
        var command = new Command("replay", "Replay a capture against a TunStack stack in virtual time: packets to the captured host are fed at their capture times, its own packets drive the stack's applications.");
        command.Arguments.Add(capture);
        command.Options.Add(outPath);
        command.Options.Add(addresses);
        command.Options.Add(after);
        command.Options.Add(seed);
        command.SetAction(result =>
        {
            string path = result.GetValue(capture)!;
            var options = new CaptureReplayOptions
            {
                After = TimeSpan.FromSeconds(result.GetValue(after)),
                Seed = result.GetValue(seed),
                OutputPath = result.GetValue(outPath) ?? Path.GetFileNameWithoutExtension(path) + ".replay.pcapng",
            };
            foreach (string text in result.GetValue(addresses) ?? Array.Empty<string>())
            {
                if (!InternetAddress.TryParse(text, out InternetAddress address))
                {
                    error.WriteLine($"tunstack: --address takes an IPv4 or IPv6 address, not '{text}'");
                    return 2;
                }

                options.Addresses.Add(address);
            }

            CaptureReplayResult replay;
            try
            {
                replay = CaptureReplay.Run(path, options);
            }
            catch (CaptureReplayException e)
            {
                error.WriteLine($"tunstack: replay: {e.Message}");
                return 2;
            }

            Print(replay, options.OutputPath, output);
            return 0;
        });
        return command;
    }

    private static void Print(CaptureReplayResult replay, string outputPath, TextWriter output)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"host {string.Join(' ', replay.Addresses)}: {replay.PacketsRead} IP packets read over {replay.Duration.TotalSeconds:0.000} s of virtual time ({replay.FramesNotIp} other frames)"));
        output.WriteLine(string.Create(c, $"  fed to the stack {replay.PacketsFed}, sent by the host (its applications' data) {replay.PacketsFromHost}, between other hosts {replay.PacketsSkipped}"));
        output.WriteLine(string.Create(c, $"  the stack answered {replay.PacketsAnswered} packets; offloaded checksums completed {replay.ChecksumsCompleted}; TCP flows with their handshake {replay.FlowsMapped}, joined late {replay.FlowsUnmapped}; bytes received {replay.BytesReceived}, sent {replay.BytesSent}"));
        output.WriteLine($"  replay written to {outputPath}");
        output.WriteLine("counters:");
        foreach (KeyValuePair<Counter, long> counter in replay.Counters)
        {
            output.WriteLine(string.Create(c, $"  {counter.Key,-36} {counter.Value,12}"));
        }
    }
}
