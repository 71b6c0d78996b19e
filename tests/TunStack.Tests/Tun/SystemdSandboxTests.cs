using System.Text;
using System.Text.RegularExpressions;
using TunStack.Tests.Cli;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

/// <summary>
/// The shipped unit's system call sandbox, without starting the unit: its SystemCallFilter= lines
/// (the groups expanded by systemd-analyze itself) and its RestrictAddressFamilies= line become a
/// seccomp filter like the one systemd installs, and tunstack up runs under it with the unit's own
/// arguments as an unprivileged user holding only CAP_NET_ADMIN (as DynamicUser= with
/// AmbientCapabilities= runs it), in a namespace of the test's, notifying a socket that plays systemd.
/// </summary>
public class SystemdSandboxTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public void ShippedUnitSandboxEmulated_UpAsUserWithCapNetAdminOnly_ReadyServesAndStopsCleanly()
    {
        TunRequirements.Require(("ping", "iputils-ping"), ("gcc", "gcc"), ("systemd-analyze", "systemd"), ("setpriv", "util-linux"));
        string[] unit = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "tools", "tunstack", "systemd", "tunstack.service"));
        string directory = Directory.CreateTempSubdirectory("tunstack-sandbox-").FullName;
        string node = BadInputTests.AccessibleTunNode(); // /dev/net/tun as most distributions leave it (0666)
        try
        {
            string filter = BuildFilter(unit, directory);
            Assert.Equal(0, CaptureTests.Run("chmod", "0755", directory).ExitCode); // the service's user runs the filter
            string[] arguments = unit.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            using TestNamespace ns = TestNamespace.Create();
            using var systemd = new FakeSystemd(forEveryone: true);
            string[] asService = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all,+net_admin", "--ambient-caps=+net_admin", "--bounding-set=-all,+net_admin",
                "env", "DOTNET_CLI_HOME=/tmp", "HOME=/tmp", $"TUNSTACK_TUN_DEVICE={node}", $"NOTIFY_SOCKET={systemd.NotifySocket}", "WATCHDOG_USEC=1000000"];
            using TunstackProcess daemon = TunstackProcess.StartCommand("ip", null, new[] { "netns", "exec", ns.Name }.Concat(asService).Concat([filter, "dotnet", TunstackProcess.Dll]).Concat(arguments).ToArray());

            Assert.StartsWith("<6>ready: tun tunstack0, mtu 1500; stack 10.77.0.2/24 fd77::2/64", daemon.WaitForLine("ready:"), StringComparison.Ordinal);
            systemd.WaitFor("READY=1", s_wait);
            systemd.WaitFor("WATCHDOG=1", s_wait);
            string[] status = File.ReadAllLines($"/proc/{daemon.Id}/status");
            Assert.StartsWith("Uid:\t65534\t65534", status.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)), StringComparison.Ordinal);
            Assert.Equal("CapEff:\t0000000000001000", status.Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal))); // CAP_NET_ADMIN alone
            Assert.Equal("Seccomp:\t2", status.Single(l => l.StartsWith("Seccomp:", StringComparison.Ordinal))); // a filter installed
            (int code, string output, _) = ns.Exec("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.77.0.2");
            Assert.True(code == 0, output);

            // ip netns exec, setpriv, env and the filter each exec the next: the PID is the daemon's.
            Assert.Equal(0, daemon.Terminate());
            systemd.WaitFor("STOPPING=1", s_wait);
            Assert.Contains("<6>stopped", daemon.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Operation not permitted", daemon.Output + daemon.Errors, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
            Directory.Delete(Path.GetDirectoryName(node)!, recursive: true);
        }
    }

    // A program that installs the unit's filter and runs its arguments: socket() only for the allowed
    // address families (else EAFNOSUPPORT), other system calls only from the allowed set (else EPERM).
    private static string BuildFilter(string[] unit, string directory)
    {
        string[] filterLines = unit.Where(l => l.StartsWith("SystemCallFilter=", StringComparison.Ordinal)).Select(l => l["SystemCallFilter=".Length..]).ToArray();
        Assert.True(filterLines.Length > 0 && !filterLines[0].StartsWith('~'), "the unit's first SystemCallFilter= line should be an allow list");
        var allowed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string line in filterLines)
        {
            bool deny = line.StartsWith('~');
            foreach (string item in line.TrimStart('~').Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                HashSet<string> calls = Expand(item);
                if (deny)
                {
                    allowed.ExceptWith(calls);
                }
                else
                {
                    allowed.UnionWith(calls);
                }
            }
        }

        string[] families = unit.Single(l => l.StartsWith("RestrictAddressFamilies=", StringComparison.Ordinal))["RestrictAddressFamilies=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var source = new StringBuilder();
        source.Append($"        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, {(2 * families.Length) + 2}),\n");
        source.Append("        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),\n");
        foreach (string family in families)
        {
            source.Append($"        ALLOW({family})\n");
        }

        source.Append("        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),\n");
        source.Append("        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),\n");
        foreach (string call in allowed)
        {
            source.Append($"#ifdef __NR_{call}\n        ALLOW(__NR_{call})\n#endif\n");
        }

        source.Append("        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),\n");
        string file = Path.Combine(directory, "sandbox.c");
        string program = Path.Combine(directory, "sandbox");
        File.WriteAllText(file, SeccompLauncher.Source(
            "#include <sys/socket.h>\n\n#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),\n",
            source.ToString()));
        (int code, _, string errors) = CaptureTests.Run("gcc", "-O", "-o", program, file);
        Assert.True(code == 0, errors);
        return program;
    }

    // A system call, or a group (@system-service) expanded by systemd-analyze, recursively.
    private static HashSet<string> Expand(string item)
    {
        if (!item.StartsWith('@'))
        {
            return new HashSet<string> { item };
        }

        (int code, string output, string errors) = CaptureTests.Run("systemd-analyze", "syscall-filter", item);
        Assert.True(code == 0, errors);
        var calls = new HashSet<string>();
        foreach (string line in output.Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            calls.UnionWith(Expand(line));
        }

        Assert.NotEmpty(calls);
        return calls;
    }
}
