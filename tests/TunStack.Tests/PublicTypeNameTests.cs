// What the libraries show their users: no public type is named like a System.Net type (which
// forces aliases on code that uses both) unless it is a drop-in for that type.
using System.Reflection;
using TunStack.Sockets;
using TunStack.Sockets.AspNetCore;
using TunStack.Tun;

namespace TunStack.Tests;

public class PublicTypeNameTests
{
    // Types meant to replace the System.Net type of the same name, member for member. None yet:
    // StackSocket, StackNetworkStream and the rest are drop-ins under names of their own.
    private static readonly HashSet<string> s_dropIns = new(StringComparer.Ordinal);

    private static readonly Assembly[] s_ours =
    {
        typeof(NetworkStack).Assembly,
        typeof(TunDevice).Assembly,
        typeof(StackSocket).Assembly,
        typeof(StackConnectionListenerFactory).Assembly,
        typeof(TunStack.Cli.CommandLine).Assembly,
    };

    [Fact]
    public void PublicTypes_AgainstEverySystemNetType_NoNameDiffersOnlyByCase()
    {
        var systemNet = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        foreach (string file in Directory.GetFiles(runtime, "System.Net*.dll"))
        {
            foreach (Type type in Assembly.LoadFrom(file).GetExportedTypes())
            {
                if (type.Namespace?.StartsWith("System.Net", StringComparison.Ordinal) == true)
                {
                    systemNet.TryAdd(type.Name, type.FullName!);
                }
            }
        }

        Assert.True(systemNet.ContainsKey("IPAddress") && systemNet.ContainsKey("TcpState"), "the System.Net assemblies were not found in " + runtime);
        var clashes = new List<string>();
        foreach (Assembly assembly in s_ours)
        {
            foreach (Type type in assembly.GetExportedTypes())
            {
                if (systemNet.TryGetValue(type.Name, out string? theirs) && !s_dropIns.Contains(type.FullName!))
                {
                    clashes.Add($"{type.FullName} is named like {theirs}");
                }
            }
        }

        Assert.Empty(clashes);
    }
}
