// What loading TunStack.Sockets costs an application: the base framework only. ASP.NET Core
// (the Kestrel transport) lives in TunStack.Sockets.AspNetCore, which only its users reference.
using System.Reflection;
using TunStack.Sockets;
using TunStack.Sockets.AspNetCore;

namespace TunStack.Tests.Sockets;

public class SocketsAssemblyTests
{
    private static readonly string BaseFramework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;

    [Fact]
    public void SocketsAssembly_AndTheTunStackAssembliesBelowIt_ReferenceNoAspNetCoreAssembly()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>();
        pending.Enqueue(typeof(StackSocket).Assembly);
        while (pending.TryDequeue(out Assembly? assembly))
        {
            foreach (AssemblyName reference in assembly.GetReferencedAssemblies())
            {
                string name = reference.Name!;
                Assert.False(name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal), $"{assembly.GetName().Name} references {name}");
                if (name.StartsWith("TunStack", StringComparison.Ordinal))
                {
                    if (seen.Add(name))
                    {
                        pending.Enqueue(Assembly.Load(reference));
                    }

                    continue;
                }

                // Anything else must come from Microsoft.NETCore.App (System.IO.Pipelines and
                // System.Net.Http included), not from the Microsoft.AspNetCore.App shared framework.
                Assert.True(File.Exists(Path.Combine(BaseFramework, name + ".dll")), $"{assembly.GetName().Name} references {name}, which is not in the base framework ({BaseFramework})");
            }
        }

        Assert.Contains("TunStack.Core", seen);
    }

    [Fact]
    public void KestrelTransport_IsInItsOwnAssembly()
    {
        Assembly kestrel = typeof(StackConnectionListenerFactory).Assembly;
        Assert.Equal("TunStack.Sockets.AspNetCore", kestrel.GetName().Name);
        Assert.Contains(kestrel.GetReferencedAssemblies(), r => r.Name == "TunStack.Sockets");
        Assert.DoesNotContain(typeof(StackSocket).Assembly.GetTypes(), t => t.Name is "StackConnectionListenerFactory" or "TunStackWebHostBuilderExtensions");
    }
}
