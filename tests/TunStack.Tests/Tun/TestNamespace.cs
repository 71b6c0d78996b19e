using System.Diagnostics;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tun;

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
