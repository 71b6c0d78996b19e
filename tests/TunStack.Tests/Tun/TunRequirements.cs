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

        SkipOrFail(missing is null ? null : $"TUN test needs {missing}");
    }

    /// <summary>
    /// A signal this test process ignores is ignored by the processes it starts too (the
    /// disposition is inherited, and a shell without job control starts its background commands
    /// with SIGINT and SIGQUIT ignored), so a test that stops a child with it cannot run.
    /// </summary>
    public static void RequireSignalNotIgnored(int signal, string name)
    {
        ulong ignored = ulong.Parse(StatusField("SigIgn:") ?? "0", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        SkipOrFail((ignored & (1UL << (signal - 1))) == 0 ? null
            : $"{name} is ignored in this test process, so the daemon it starts ignores it too (run the tests in the foreground, or from a shell with job control)");
    }

    // What is missing (null: nothing): a skip with the reason, a failure under CI=true.
    private static void SkipOrFail(string? reason)
    {
        if (reason is not null && Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"{reason}; under CI=true that is a failure, not a skip.");
        }

        Skip.If(reason is not null, reason);
    }

    private static uint GetEuid()
        => StatusField("Uid:") is { } uid
            ? uint.Parse(uid.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture)
            : uint.MaxValue;

    // The value of one line of /proc/self/status ("Uid:", "SigIgn:"), after the name; null if absent.
    private static string? StatusField(string name)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return line[name.Length..].Trim();
            }
        }

        return null;
    }
}
