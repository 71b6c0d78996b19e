// docs/examples/CapturingAndImpairing.cs: links compose. An ImpairedLink adds seeded loss,
// reordering and delay to what the stack sends; a CaptureLink above it writes every packet as
// pcapng, which tshark and Wireshark read.
//   dotnet run --project docs/examples -- capture capture.pcapng
using System;
using System.IO;
using TunStack;
using TunStack.Ip;
using TunStack.Links;

namespace TunStack.Examples;

public static class CapturingAndImpairing
{
    public static void Run(string path, TextWriter output)
    {
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair();
        var lossy = new Impairment { LossPercent = 1, Delay = TimeSpan.FromMilliseconds(10), ReorderPercent = 5 };
        var impaired = new ImpairedLink(wireA, ingress: Impairment.None, egress: lossy, seed: 42);
        var captured = new CaptureLink(impaired, new PcapngWriter(File.Create(path)));
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        var stack = new NetworkStack(captured, options);
        stack.OpenUdp().SendTo("x"u8, new InternetEndpoint(InternetAddress.Parse("10.0.0.9"), 9));
        stack.Poll(Instant.Zero);
        captured.Dispose(); // flushes the capture
        wireB.Dispose();

        // The same impairment as text, the form the tunstack CLI takes (--impair).
        if (Impairment.TryParse("loss=1%,delay=10ms,reorder=5%,seed=42", out Impairment parsed, out int? seed, out string? error))
        {
            output.WriteLine($"wrote {new FileInfo(path).Length} bytes to {path}; the same impairment as text: {parsed}, seed {seed}");
        }
        else
        {
            output.WriteLine(error);
        }
    }
}
