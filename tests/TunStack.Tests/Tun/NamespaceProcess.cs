using System.Diagnostics;

namespace TunStack.Tests.Tun;

/// <summary>
/// A process started in the background inside a network namespace (a kernel-side server, client
/// or flood): stopped and reaped when disposed if it is still running, so a failing test leaves
/// nothing behind.
/// </summary>
internal sealed class NamespaceProcess : IDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private NamespaceProcess(Process process) => _process = process;

    public StreamReader StandardOutput => _process.StandardOutput;

    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>What the process wrote to standard error (once it has ended).</summary>
    public string ReadErrors() => _process.StandardError.ReadToEnd();

    /// <summary>Starts <paramref name="command"/> inside <paramref name="netns"/> (ip netns exec), output redirected.</summary>
    public static NamespaceProcess Start(string netns, params string[] command)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[] { "netns", "exec", netns }.Concat(command))
        {
            psi.ArgumentList.Add(a);
        }

        return new NamespaceProcess(Process.Start(psi)!);
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> for the process to end on its own.</summary>
    public bool WaitForExit(int milliseconds) => _process.WaitForExit(milliseconds);

    public void Dispose()
    {
        if (_disposed)
        {
            return; // a test may end the process early and the using block ends it again
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.WaitForExit();
        _process.Dispose();
    }
}
