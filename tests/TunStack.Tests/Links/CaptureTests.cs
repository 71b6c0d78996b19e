using System.Diagnostics;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tests.Integration;
using TunStack.Udp;

namespace TunStack.Tests.Links;

public class CaptureTests
{
    internal static string? FindTool(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/sbin").Append("/usr/bin"))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>Skips when a tool is missing on a developer machine; fails under CI=true.</summary>
    internal static string RequireTool(string name, string package)
    {
        string? path = FindTool(name);
        if (path is null && Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"{name} is required under CI=true: install the Debian package '{package}' (./test.sh does).");
        }

        Skip.If(path is null, $"{name} not installed (apt-get install {package}); ./test.sh installs it.");
        return path!;
    }

    /// <summary>Runs a tool; Output is its standard output, Errors its standard error.</summary>
    internal static (int ExitCode, string Output, string Errors) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), $"{file} did not finish in 60 s");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [SkippableFact]
    public void CaptureOfPingAndFragmentedUdp_ReadByTshark_NoMalformedPackets()
    {
        string tshark = RequireTool("tshark", "tshark");
        string file = Path.Combine(Path.GetTempPath(), $"tunstack-capture-{Guid.NewGuid():N}.pcapng");
        try
        {
            CaptureLink? capture = null;
            var net = new TwoStacks(wrapA: link => capture = new CaptureLink(link, new PcapngWriter(File.Create(file), 1_700_000_000_000_000)));
            net.StartEchoOnB(7);
            IcmpEchoEndpoint ping = net.A.OpenEcho(1)!;
            ping.SendRequest(TwoStacks.B4, 1, "v4"u8);
            ping.SendRequest(TwoStacks.B6, 2, "v6"u8);
            UdpEndpoint client = net.A.OpenUdp(System.Net.Sockets.AddressFamily.InterNetworkV6);
            client.SendTo(new byte[4000], new InternetEndpoint(TwoStacks.B4, 7));
            client.SendTo(new byte[4000], new InternetEndpoint(TwoStacks.B6, 7));
            client.SendTo("x"u8, new InternetEndpoint(TwoStacks.B4, 9));
            net.Simulation.RunFor(TimeSpan.FromSeconds(1));
            capture!.Dispose();

            (int code, string output, string errors) = Run(tshark, "-r", file, "-T", "fields", "-e", "frame.protocols", "-e", "_ws.malformed", "-e", "_ws.expert.severity");
            Assert.True(code == 0, errors);
            string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(capture.Writer.PacketCount, lines.Length);
            Assert.DoesNotContain(lines, l => l.Contains("malformed", StringComparison.OrdinalIgnoreCase));
            Assert.Contains(lines, l => l.StartsWith("raw:ip:icmp", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("raw:ipv6:icmpv6", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("raw:ip:udp:data", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("raw:ipv6:ipv6.fraghdr", StringComparison.Ordinal) || l.Contains("ipv6.fraghdr", StringComparison.Ordinal));

            // tshark reassembles our fragments and checks every checksum we wrote.
            (code, output, errors) = Run(tshark, "-r", file, "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                "-Y", "ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || _ws.malformed");
            Assert.True(code == 0, errors);
            Assert.True(string.IsNullOrWhiteSpace(output), output);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
