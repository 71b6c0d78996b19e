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

    /// <summary>
    /// A fresh name, not created: for a test where the code under test creates the namespace (and
    /// should remove it). Whatever is left under the name is deleted on dispose all the same.
    /// </summary>
    public static TestNamespace Reserve() => new(NewName());

    public static bool Exists(string name) => File.Exists(Path.Combine("/run/netns", name));

    /// <summary>
    /// Stops <paramref name="daemon"/> with SIGTERM and checks that it exited 0, logged that it
    /// removed this namespace, and that the namespace is gone.
    /// </summary>
    public void StopAndExpectRemovedBy(TunstackProcess daemon)
    {
        Assert.Equal(0, daemon.Terminate());
        ExpectRemovedBy(daemon);
    }

    /// <summary>Checks that <paramref name="daemon"/> (stopped, or ended on its own) logged that it removed this namespace, and that the namespace is gone.</summary>
    public void ExpectRemovedBy(TunstackProcess daemon)
    {
        Assert.Contains($"removed network namespace {Name}", daemon.Output);
        Assert.False(Exists(Name), $"namespace {Name} is still there");
    }

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

    /// <summary>Runs the tunstack CLI inside the namespace (without --netns it works on this namespace, as if it were the host's).</summary>
    public (int Code, string Output, string Errors) Tunstack(params string[] args)
        => Exec(new[] { "dotnet", TunstackProcess.Dll }.Concat(args).ToArray());

    /// <summary>The names of the namespace's network interfaces.</summary>
    public string[] Links()
        => Exec("ip", "-o", "link", "show").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(':')[1].Trim().Split('@')[0]).ToArray();

    /// <summary>Runs a Python 3 script inside the namespace (Debian's /usr/bin/python3).</summary>
    public (int Code, string Output, string Errors) Python(string script, params string[] args)
        => Exec(new[] { "/usr/bin/python3", "-c", script }.Concat(args).ToArray());

    /// <summary>Runs a Python 3 script inside the namespace, asserts that it exited 0 (its stderr as the message), and returns its output lines.</summary>
    public string[] PythonLines(string script, params string[] args)
    {
        (int code, string output, string errors) = Python(script, args);
        Assert.True(code == 0, errors);
        return output.Trim().Split('\n');
    }

    /// <summary>Starts a background process inside the namespace (stopped when disposed).</summary>
    public NamespaceProcess Start(params string[] command) => NamespaceProcess.Start(Name, command);

    /// <summary>Creates a persistent TUN device in the namespace (owned by <paramref name="user"/> if given), with <paramref name="address"/>, up.</summary>
    public void AddPersistentTun(string device, string address, string? user = null)
    {
        string[] add = new[] { "ip", "tuntap", "add", "dev", device, "mode", "tun" }.Concat(user is null ? [] : new[] { "user", user }).ToArray();
        Assert.Equal(0, Exec(add).Code);
        Assert.Equal(0, Exec("ip", "addr", "add", address, "dev", device).Code);
        Assert.Equal(0, Exec("ip", "link", "set", device, "up").Code);
    }

    public void Dispose()
    {
        if (Exists(Name))
        {
            CaptureTests.Run("ip", "netns", "del", Name);
        }
    }
}
