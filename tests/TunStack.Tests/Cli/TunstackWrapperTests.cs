using System.Diagnostics;
using TunStack.Tests.Links;
using TunStack.Tests.Tun;

namespace TunStack.Tests.Cli;

/// <summary>
/// The ./tunstack wrapper at the repository root: it builds the CLI only when a source changed
/// (what a build writes under obj/ and bin/ is not a source), says nothing while it builds, and
/// runs for a user who may read the tree but not write it. Each call goes through a stand-in for
/// dotnet that notes its arguments, so a test sees whether a build ran.
/// </summary>
[Collection(nameof(DotnetSdkRuns))]
public sealed class TunstackWrapperTests : IDisposable
{
    private static readonly string Wrapper = Path.Combine(RepositoryRoot.Path, "tunstack");
    private static readonly string Built = Path.Combine(RepositoryRoot.Path, "tools", "tunstack", "bin", "Release", "net10.0", "tunstack.dll");

    private readonly string _directory = Directory.CreateTempSubdirectory("tunstack-wrapper-").FullName;
    private readonly string _buildOutputProbe = Path.Combine(RepositoryRoot.Path, "tools", "tunstack", "obj", "Debug", "net10.0", $"Probe{Guid.NewGuid():N}.AssemblyInfo.cs");

    public TunstackWrapperTests()
    {
        // The stand-in: writes its arguments to calls.log, then runs the real dotnet.
        string dotnet = CaptureTests.FindTool("dotnet") ?? "/usr/bin/dotnet";
        File.WriteAllText(Path.Combine(_directory, "dotnet"), $"#!/bin/sh\necho \"$*\" >> {_directory}/calls.log\nexec {dotnet} \"$@\"\n");
        CaptureTests.Run("chmod", "0755", Path.Combine(_directory, "dotnet"));
        CaptureTests.Run("chmod", "1777", _directory); // the unprivileged user's calls are noted too

    }

    private string[] Calls
        => File.Exists(Path.Combine(_directory, "calls.log")) ? File.ReadAllLines(Path.Combine(_directory, "calls.log")) : [];

    private static string Help => TunstackProcess.Run(null, "--help").Output;

    // Runs the wrapper with the stand-in first on PATH (optionally through a command such as setpriv).
    private (int Code, string Output, string Errors) RunWrapper(params string[] prefix)
    {
        var psi = new ProcessStartInfo(prefix.Length > 0 ? prefix[0] : Wrapper) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in prefix.Skip(1).Concat(prefix.Length > 0 ? [Wrapper] : []).Append("--help"))
        {
            psi.ArgumentList.Add(argument);
        }

        psi.Environment["PATH"] = $"{_directory}:{Environment.GetEnvironmentVariable("PATH")}";
        using Process p = Process.Start(psi)!;
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        Task<string> errors = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(600_000), "./tunstack did not finish in 10 minutes");
        return (p.ExitCode, output.Result, errors.Result);
    }

    private void AssertRanQuietly((int Code, string Output, string Errors) result)
    {
        Assert.True(result.Code == 0, result.Output + result.Errors);
        Assert.Equal(string.Empty, result.Errors);
        Assert.Equal(Help, result.Output);
    }

    [Fact]
    public void Wrapper_SourceTouched_RebuildsOnceQuietly_ThenNotAgain()
    {
        AssertRanQuietly(RunWrapper());
        File.SetLastWriteTimeUtc(Path.Combine(RepositoryRoot.Path, "tools", "tunstack", "Program.cs"), DateTime.UtcNow);
        File.Delete(Path.Combine(_directory, "calls.log"));

        AssertRanQuietly(RunWrapper());
        Assert.Single(Calls, c => c.StartsWith("build ", StringComparison.Ordinal));
        AssertRanQuietly(RunWrapper());
        Assert.Single(Calls, c => c.StartsWith("build ", StringComparison.Ordinal));
    }

    [Fact]
    public void Wrapper_OnlyBuildOutputIsNewer_RunsWithoutBuilding()
    {
        AssertRanQuietly(RunWrapper());
        DateTime built = File.GetLastWriteTimeUtc(Built);
        WriteBuildOutputProbe();
        File.Delete(Path.Combine(_directory, "calls.log"));

        AssertRanQuietly(RunWrapper());
        AssertRanQuietly(RunWrapper());
        Assert.Equal(2, Calls.Length);
        Assert.DoesNotContain(Calls, c => c.StartsWith("build ", StringComparison.Ordinal));
        Assert.Equal(built, File.GetLastWriteTimeUtc(Built));
    }

    [SkippableFact]
    public void Wrapper_UserWhoMayNotWriteTheTree_RunsTheBuild()
    {
        TunRequirements.Require(("setpriv", "util-linux"));
        AssertRanQuietly(RunWrapper());
        WriteBuildOutputProbe();
        File.Delete(Path.Combine(_directory, "calls.log"));
        AssertRanQuietly(RunWrapper("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", $"HOME={_directory}"));
        Assert.Single(Calls);
        Assert.DoesNotContain(Calls, c => c.StartsWith("build ", StringComparison.Ordinal));
    }

    // What a Debug build (or an IDE) leaves under obj/: newer than the Release build, not a source.
    private void WriteBuildOutputProbe()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_buildOutputProbe)!);
        File.WriteAllText(_buildOutputProbe, "// generated\n");
        File.SetLastWriteTimeUtc(_buildOutputProbe, DateTime.UtcNow.AddSeconds(5));
    }

    public void Dispose()
    {
        File.Delete(_buildOutputProbe);
        Directory.Delete(_directory, recursive: true);
    }
}
