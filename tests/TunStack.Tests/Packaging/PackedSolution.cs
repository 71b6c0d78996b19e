using System.Diagnostics;
using System.Reflection;
using System.Xml.Linq;

namespace TunStack.Tests.Packaging;

/// <summary>
/// The solution packed as a user packs it (`dotnet pack Stack.sln -o FOLDER`, here without a
/// build of its own: the tests run on the build they came from) into a temporary folder, with a
/// NuGet package cache and a nuget.config of its own there, so that nothing packed here reaches
/// the machine's package cache. Deleted with everything in it when the test class is done.
/// </summary>
public sealed class PackedSolution : IDisposable
{
    public PackedSolution()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tunstack-packages-").FullName;
        Feed = Path.Combine(Directory, "feed");
        Version = XDocument.Load(Path.Combine(RepositoryRoot.Path, "Directory.Build.props")).Descendants("Version").Single().Value;

        try
        {
            // An empty Directory.Build.props, .targets and Directory.Packages.props here stop MSBuild
            // from looking further up the temporary directory for any: the apps built under this
            // folder see nothing but their own project.
            foreach (string file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            {
                File.WriteAllText(Path.Combine(Directory, file), "<Project />\n");
            }

            string configuration = typeof(PackedSolution).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            PackOutput = Run(RepositoryRoot.Path, "dotnet", "pack", Path.Combine(RepositoryRoot.Path, "Stack.sln"), "-c", configuration, "--no-build", "-o", Feed, "-nologo");
            List<string> machineSources = MachinePackageSources();
            App = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "app")).FullName;
            File.WriteAllText(Path.Combine(App, "nuget.config"), NuGetConfigText(Feed, machineSources));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The temporary folder: the feed, the package cache, the app built from the packages.</summary>
    public string Directory { get; }

    /// <summary>Where the packages are: the folder `dotnet pack -o` wrote.</summary>
    public string Feed { get; }

    /// <summary>The version Directory.Build.props gives every package.</summary>
    public string Version { get; }

    /// <summary>What `dotnet pack` printed.</summary>
    public string PackOutput { get; }

    /// <summary>
    /// A directory for an app built from the packages, with a nuget.config that has the feed (for
    /// TunStack's packages only) and the machine's own sources (for everything else).
    /// </summary>
    public string App { get; }

    /// <summary>The package cache of this folder alone (NUGET_PACKAGES for every command run here).</summary>
    public string Packages => Path.Combine(Directory, "packages");

    /// <summary>
    /// Runs a command in <paramref name="workingDirectory"/> with this folder's package cache;
    /// fails the test unless it exits 0 within two minutes, and returns its standard output.
    /// MSBuild and the compiler run in the command's own process, so no build server stays behind.
    /// </summary>
    public string Run(string workingDirectory, string file, params string[] arguments)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        psi.Environment["NUGET_PACKAGES"] = Packages;
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["UseSharedCompilation"] = "false";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using Process process = Process.Start(psi)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', arguments)} did not finish in 2 minutes");
        }

        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{output.Result}\n{errors.Result}");
        return output.Result;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    // The sources this machine restores from, as `dotnet nuget list source` reports them from a
    // directory with no nuget.config of its own (the user's and the machine's configuration):
    // the enabled ones, "E <url or path>" in the short format.
    private List<string> MachinePackageSources()
        => Run(Directory, "dotnet", "nuget", "list", "source", "--format", "short")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("E ", StringComparison.Ordinal))
            .Select(line => line[2..].Trim())
            .ToList();

    // Package source mapping sends TunStack's packages to the feed alone, so that a package of
    // the same name and version elsewhere cannot stand in for the one just packed.
    private static string NuGetConfigText(string feed, List<string> machineSources)
    {
        var sources = new XElement("packageSources", new XElement("clear"), new XElement("add", new XAttribute("key", "tunstack-packed"), new XAttribute("value", feed)));
        var mapping = new XElement(
            "packageSourceMapping",
            new XElement("packageSource", new XAttribute("key", "tunstack-packed"), new XElement("package", new XAttribute("pattern", "TunStack.*")), new XElement("package", new XAttribute("pattern", "tunstack"))));
        for (int i = 0; i < machineSources.Count; i++)
        {
            string key = $"machine-{i + 1}";
            sources.Add(new XElement("add", new XAttribute("key", key), new XAttribute("value", machineSources[i])));
            mapping.Add(new XElement("packageSource", new XAttribute("key", key), new XElement("package", new XAttribute("pattern", "*"))));
        }

        return new XDocument(new XElement("configuration", sources, mapping)).ToString();
    }
}
