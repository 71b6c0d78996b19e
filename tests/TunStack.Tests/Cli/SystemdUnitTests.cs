using System.Globalization;
using System.Text.RegularExpressions;
using TunStack.Tests.Links;

namespace TunStack.Tests.Cli;

/// <summary>
/// The systemd unit shipped in tools/tunstack/systemd: systemd's own analyzer accepts it and rates
/// its exposure no worse than docs/daemon.md says, the docs show it as it is, and the one hardening
/// setting it leaves out (MemoryDenyWriteExecute) still kills the .NET runtime.
/// </summary>
public class SystemdUnitTests
{
    private static string Unit => Path.Combine(RepositoryRoot.Path, "tools", "tunstack", "systemd", "tunstack.service");

    private static string Docs => File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "daemon.md"));

    [SkippableFact]
    public void ShippedUnit_SystemdAnalyzeVerify_NoComplaint()
    {
        string analyze = CaptureTests.RequireTool("systemd-analyze", "systemd");

        // verify checks that ExecStart's program exists: point it at the tunstack built with the tests.
        string directory = Directory.CreateTempSubdirectory("tunstack-unit-").FullName;
        try
        {
            string unit = Path.Combine(directory, "tunstack.service");
            string apphost = Path.Combine(AppContext.BaseDirectory, "tunstack");
            Assert.True(File.Exists(apphost), $"no {apphost}");
            File.WriteAllText(unit, File.ReadAllText(Unit).Replace("/opt/tunstack/tunstack", apphost, StringComparison.Ordinal));
            (int code, string output, string errors) = CaptureTests.Run(analyze, "verify", unit);
            Assert.True(code == 0 && errors.Length == 0, $"systemd-analyze verify: exit {code}: {output}{errors}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [SkippableFact]
    public void ShippedUnit_SecurityOffline_ExposureAtMostTheDocumentedScore()
    {
        string analyze = CaptureTests.RequireTool("systemd-analyze", "systemd");
        Match documented = Regex.Match(Docs, @"`systemd-analyze security` rates the unit \*\*(\d+\.\d) (OK|SAFE)\*\*");
        Assert.True(documented.Success, "docs/daemon.md gives no exposure score for the unit");
        Assert.Contains("systemd-analyze security --offline=yes tools/tunstack/systemd/tunstack.service", Docs, StringComparison.Ordinal);

        (int code, string output, string errors) = CaptureTests.Run(analyze, "security", "--offline=yes", Unit);
        Assert.True(code == 0, $"systemd-analyze security: exit {code}: {errors}");
        Match measured = Regex.Match(output, @"Overall exposure level for tunstack\.service: (\d+\.\d) (\w+)");
        Assert.True(measured.Success, $"no overall exposure level in: {output}");
        double score = double.Parse(measured.Groups[1].Value, CultureInfo.InvariantCulture);
        double limit = double.Parse(documented.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(score <= limit, $"exposure {score} is worse than the {limit} docs/daemon.md gives");
        Assert.Contains(measured.Groups[2].Value, new[] { "SAFE", "OK" });
    }

    [Fact]
    public void ShippedUnit_InDocs_ShownAsItIs()
    {
        Assert.Contains("```ini\n" + File.ReadAllText(Unit) + "```", Docs, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedUnit_Settings_NotifyWatchdogRestartAndTheTunDeviceOnly()
    {
        string[] lines = File.ReadAllLines(Unit);
        foreach (string setting in new[]
        {
            "Type=notify", "WatchdogSec=10s", "Restart=on-failure", "RestartSec=2s", "DynamicUser=yes",
            "AmbientCapabilities=CAP_NET_ADMIN", "CapabilityBoundingSet=CAP_NET_ADMIN", "RuntimeDirectory=tunstack",
            "StateDirectory=tunstack", "LogsDirectory=tunstack", "DevicePolicy=closed", "DeviceAllow=/dev/net/tun rw",
            "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6", "ProtectSystem=strict", "SystemCallFilter=@system-service",
        })
        {
            Assert.Contains(setting, lines);
        }

        Assert.DoesNotContain(lines, l => l.StartsWith("MemoryDenyWriteExecute=", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("PrivateDevices=", StringComparison.Ordinal));
        Assert.Contains("--log-format journal", lines.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void MemoryDenyWriteExecuteEmulated_DotnetRuntime_DiesBeforeItsFirstLine()
    {
        string gcc = CaptureTests.RequireTool("gcc", "gcc");
        string directory = Directory.CreateTempSubdirectory("tunstack-mdwe-").FullName;
        try
        {
            string source = Path.Combine(directory, "mdwe.c");
            string filter = Path.Combine(directory, "mdwe");
            File.WriteAllText(source, MemoryDenyWriteExecuteFilter);
            (int built, _, string buildErrors) = CaptureTests.Run(gcc, "-O", "-o", filter, source);
            Assert.True(built == 0, buildErrors);

            // The filter itself lets ordinary programs run, and refuses what systemd's setting refuses.
            (int echoed, string plain, _) = CaptureTests.Run(filter, "/bin/echo", "plain");
            Assert.Equal((0, "plain\n"), (echoed, plain));
            Assert.NotEqual(0, CaptureTests.Run(filter, "/usr/bin/python3", "-c", "import mmap; mmap.mmap(-1, 4096, prot=7)").ExitCode);

            string dll = Path.Combine(AppContext.BaseDirectory, "tunstack.dll");
            Assert.Equal(0, CaptureTests.Run("dotnet", dll, "demo").ExitCode);
            (int code, string output, _) = CaptureTests.Run(filter, "dotnet", dll, "demo");
            Assert.NotEqual(0, code);
            Assert.Equal(string.Empty, output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    // What MemoryDenyWriteExecute=yes installs (systemd.exec(5)): a seccomp filter that refuses mmap
    // with PROT_WRITE and PROT_EXEC together, and mprotect/pkey_mprotect adding PROT_EXEC (EPERM).
    private static readonly string MemoryDenyWriteExecuteFilter = SeccompLauncher.Source(
        "#include <sys/mman.h>\n",
        """
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 6, 5),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_EXEC),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_EXEC, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
""");
}
