using System.Collections.Concurrent;
using System.Diagnostics;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

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

    /// <summary>The CLI the tests run.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "tunstack.dll");

    public static TunstackProcess Start(IDictionary<string, string>? environment, params string[] args)
        => StartCommand("dotnet", environment, new[] { Dll }.Concat(args).ToArray());

    /// <summary>
    /// Starts tunstack inside <paramref name="netns"/> (ip netns exec, which execs dotnet: the PID is
    /// tunstack's), so that a command without --netns works in the test's namespace, never the host's.
    /// </summary>
    public static TunstackProcess StartIn(string netns, params string[] args)
        => StartCommand("ip", null, new[] { "netns", "exec", netns, "dotnet", Dll }.Concat(args).ToArray());

    /// <summary>Starts any command with its output collected line by line.</summary>
    public static TunstackProcess StartCommand(string file, IDictionary<string, string>? environment, params string[] args)
        => new(Process.Start(Redirected(file, environment, args))!);

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
        using Process p = Process.Start(Redirected("dotnet", environment, new[] { Dll }.Concat(args)))!;
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

    // file with args and extra environment variables, its three standard streams redirected.
    private static ProcessStartInfo Redirected(string file, IDictionary<string, string>? environment, IEnumerable<string> args)
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

        return psi;
    }

    /// <summary>
    /// Waits for a line containing <paramref name="text"/> (the <paramref name="occurrence"/>th such
    /// line, counted from 1); fails with everything printed so far.
    /// </summary>
    public string WaitForLine(string text, int timeoutMs = 30_000, int occurrence = 1)
    {
        string? Find() => _lines.Where(l => l.Contains(text, StringComparison.Ordinal)).Skip(occurrence - 1).FirstOrDefault();
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < timeoutMs)
        {
            string? line = Find();
            if (line is not null)
            {
                return line;
            }

            if (_process.HasExited)
            {
                // WaitForExit() drains the output still in the pipe: the line may be among it (a
                // process that crashes right after printing it exits before the reader has seen it).
                _process.WaitForExit();
                line = Find();
                if (line is not null)
                {
                    return line;
                }

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
        Signal(signal);
        Assert.True(_process.WaitForExit(timeoutMs), $"tunstack did not stop on SIGTERM. stdout:\n{Output}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Sends <paramref name="signal"/> (HUP, USR1, KILL, ...) to this PID only, without waiting.</summary>
    public void Signal(string signal)
        => CaptureTests.Run("kill", $"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Waits for the process to end (after a signal that should end it) and returns its exit code.</summary>
    public int WaitForExit(int timeoutMs = 30_000)
    {
        Assert.True(_process.WaitForExit(timeoutMs), $"tunstack did not exit. stdout:\n{Output}");
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
