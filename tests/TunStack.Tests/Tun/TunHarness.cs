using System.Collections.Concurrent;
using System.Diagnostics;
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

/// <summary>A network namespace made for one test and deleted afterwards, even on failure.</summary>
internal sealed class TestNamespace : IDisposable
{
    private TestNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>A fresh name, not yet created (for tests where the daemon creates it).</summary>
    public static string NewName() => $"tstk-{Guid.NewGuid().ToString("N")[..10]}";

    public static TestNamespace Create()
    {
        var ns = new TestNamespace(NewName());
        (int code, string output, string errors) = CaptureTests.Run("ip", "netns", "add", ns.Name);
        Assert.True(code == 0, $"ip netns add {ns.Name}: {output}{errors}");
        return ns;
    }

    public static bool Exists(string name) => File.Exists(Path.Combine("/run/netns", name));

    /// <summary>Runs a command inside the namespace.</summary>
    public (int Code, string Output, string Errors) Exec(params string[] command)
        => CaptureTests.Run("ip", new[] { "netns", "exec", Name }.Concat(command).ToArray());

    /// <summary>
    /// Waits (up to 10 s) until <paramref name="address"/> is configured in the namespace, i.e. a
    /// tunstack process has brought its TUN up, plus a moment for the stack to start serving.
    /// </summary>
    public void WaitForAddress(string address)
    {
        for (int i = 0; i < 100 && !Exec("ip", "addr", "show").Output.Contains(address, StringComparison.Ordinal); i++)
        {
            Thread.Sleep(100);
        }

        Thread.Sleep(500);
    }

    /// <summary>Runs a Python 3 script inside the namespace (Debian's /usr/bin/python3).</summary>
    public (int Code, string Output, string Errors) Python(string script, params string[] args)
        => Exec(new[] { "/usr/bin/python3", "-c", script }.Concat(args).ToArray());

    /// <summary>Starts a background process inside the namespace.</summary>
    public Process Start(params string[] command)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[] { "netns", "exec", Name }.Concat(command))
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    public void Dispose()
    {
        if (Exists(Name))
        {
            CaptureTests.Run("ip", "netns", "del", Name);
        }
    }
}

/// <summary>The tunstack CLI run as a child process (dotnet tunstack.dll ...), output collected line by line.</summary>
internal sealed class TunstackProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringWriter _errors = new();

    private TunstackProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_errors)
                {
                    _errors.WriteLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Output => string.Join('\n', _lines);

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public static TunstackProcess Start(IDictionary<string, string>? environment, params string[] args)
        => StartCommand("dotnet", environment, new[] { Path.Combine(AppContext.BaseDirectory, "tunstack.dll") }.Concat(args).ToArray());

    /// <summary>Starts any command with its output collected line by line.</summary>
    public static TunstackProcess StartCommand(string file, IDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        return new TunstackProcess(Process.Start(psi)!);
    }

    /// <summary>Starts <c>tunstack up --netns NETNS ...</c> and waits for its ready line.</summary>
    public static TunstackProcess StartDaemon(string netns, params string[] extra)
    {
        TunstackProcess daemon = Start(null, new[] { "up", "--netns", netns }.Concat(extra).ToArray());
        try
        {
            daemon.WaitForLine("ready:");
        }
        catch
        {
            daemon.Dispose(); // no ready line: end the process we started rather than leak it
            throw;
        }

        return daemon;
    }

    /// <summary>Runs to completion (with standard input) and returns exit code, stdout, stderr.</summary>
    public static (int Code, string Output, string Errors) Run(string? input, params string[] args) => RunWith(null, input, args);

    public static (int Code, string Output, string Errors) RunWith(IDictionary<string, string>? environment, string? input, params string[] args)
    {
        // Standard output is read raw (not line by line) so that byte-exact output can be compared.
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "tunstack.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            p.StandardInput.Write(input);
        }

        p.StandardInput.Close();
        if (!p.WaitForExit(120_000))
        {
            p.Kill();
            Assert.Fail("tunstack did not finish in 120 s");
        }

        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Waits for a line containing <paramref name="text"/>; fails with everything printed so far.</summary>
    public string WaitForLine(string text, int timeoutMs = 30_000)
    {
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < timeoutMs)
        {
            string? line = _lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            if (_process.HasExited)
            {
                _process.WaitForExit();
                break;
            }

            Thread.Sleep(50);
        }

        Assert.Fail($"no line with '{text}' from tunstack (exited: {_process.HasExited}). stdout:\n{Output}\nstderr:\n{Errors}");
        return string.Empty;
    }

    /// <summary>
    /// Sends SIGTERM (or <paramref name="signal"/>; CONT just waits for a process that ends on its own)
    /// to this PID only and waits for the exit code.
    /// </summary>
    public int Terminate(int timeoutMs = 30_000, string signal = "TERM")
    {
        CaptureTests.Run("kill", $"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(_process.WaitForExit(timeoutMs), $"tunstack did not stop on SIGTERM. stdout:\n{Output}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }
}
