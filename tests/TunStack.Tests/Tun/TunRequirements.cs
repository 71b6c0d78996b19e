using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>
/// What the TUN tests need: root, /dev/net/tun and iproute2. Missing on a developer laptop, the
/// tests skip with the reason; under CI=true a missing requirement fails the test.
/// </summary>
internal static class TunRequirements
{
    public static void Require(params (string Tool, string Package)[] tools)
    {
        string? missing = null;
        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal) && GetEuid() != 0)
        {
            missing = "root (the test creates a network namespace and a TUN device)";
        }
        else if (!File.Exists("/dev/net/tun"))
        {
            missing = "/dev/net/tun (modprobe tun)";
        }
        else if (CaptureTests.FindTool("ip") is null)
        {
            missing = "ip (apt-get install iproute2)";
        }
        else
        {
            foreach ((string tool, string package) in tools)
            {
                if (CaptureTests.FindTool(tool) is null && !File.Exists(tool))
                {
                    missing = $"{tool} (apt-get install {package})";
                    break;
                }
            }
        }

        if (missing is not null && Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"TUN test needs {missing}; under CI=true that is a failure, not a skip.");
        }

        Skip.If(missing is not null, $"TUN test needs {missing}");
    }

    private static uint GetEuid()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return uint.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return uint.MaxValue;
    }
}
