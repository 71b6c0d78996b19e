using TunStack.Tests.Links;

namespace TunStack.Tests.Conformance;

/// <summary>
/// The packetdrill shim (tools/packetdrill, docs/conformance.md): gcc builds
/// libtunstack-packetdrill.so and the test driver, and the driver loads the shim exactly as
/// packetdrill's --so_filename does and plays a conversation through its table, checking every
/// packet the stack sends. packetdrill itself is not needed. Without gcc or make the test skips,
/// and under CI=true fails.
/// </summary>
public class PacketdrillShimTests
{
    [SkippableFact]
    public void ShimLoadedAsPacketdrillLoadsIt_PassiveOpenDataBothWaysAndClose_EveryPacketAndErrnoAsExpected()
    {
        CaptureTests.RequireTool("gcc", "gcc");
        string make = CaptureTests.RequireTool("make", "make");

        // The assembly the solution built for this configuration (bin/<Configuration>/net10.0).
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        string tools = Path.Combine(RepositoryRoot.Path, "tools", "packetdrill");
        string shimDirectory = Path.Combine(tools, "TunStack.PacketdrillShim", "bin", configuration, "net10.0");
        string assembly = Path.Combine(shimDirectory, "TunStack.PacketdrillShim.dll");
        Assert.True(File.Exists(assembly), $"{assembly} is missing: build Stack.sln ({configuration}) first");

        string output = Path.Combine(Path.GetTempPath(), $"tunstack-packetdrill-{Guid.NewGuid():N}");
        try
        {
            (int built, string buildOutput, string buildErrors) = CaptureTests.Run(make, "-C", tools, "native", $"OUT={output}", $"SHIM_DIR={shimDirectory}");
            Assert.True(built == 0, $"make failed:\n{buildOutput}\n{buildErrors}");

            // Preloaded, as run-in-netns.sh runs packetdrill, so that the code-event step reads
            // TCP_INFO through the C library's getsockopt.
            string shim = Path.Combine(output, "libtunstack-packetdrill.so");
            (int exit, string log, string errors) = CaptureTests.Run(
                "env",
                $"LD_PRELOAD={shim}",
                Path.Combine(output, "tunstack-packetdrill-driver"),
                shim,
                $"assembly={assembly} receive_timeout=10");
            Assert.True(exit == 0, $"the driver failed (exit {exit}):\n{log}\n{errors}");
            Assert.Contains("steps passed", log, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }
}
