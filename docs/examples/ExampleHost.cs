// docs/examples/ExampleHost.cs: the stack the socket programs run on when started from
// Program.cs: 10.9.0.1/24 on one end of an in-memory link, on the real clock.
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;

namespace TunStack.Examples;

public static class ExampleHost
{
    /// <summary>The stack's address.</summary>
    public static readonly System.Net.IPAddress Address = System.Net.IPAddress.Parse("10.9.0.1");

    /// <summary>A host whose sockets talk to each other through the stack's own address.</summary>
    public static StackHost Start()
    {
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.9.0.1/24"));
        (MemoryLink near, MemoryLink _) = MemoryLink.CreatePair();
        return StackHost.Start(near, options);
    }
}
