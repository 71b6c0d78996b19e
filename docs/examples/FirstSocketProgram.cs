// docs/examples/FirstSocketProgram.cs: StackSocket used as System.Net.Sockets.Socket is. A
// listener and a client on one stack (over an in-memory link; StackHost.StartOnTun puts the same
// stack on a TUN device), "hello" from the client to the accepted socket.
//   dotnet run --project docs/examples -- first-socket
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;

namespace TunStack.Examples;

public static class FirstSocketProgram
{
    public static void Run(TextWriter output)
    {
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.9.0.1/24"));
        (MemoryLink link, MemoryLink far) = MemoryLink.CreatePair();     // or StackHost.StartOnTun(...)
        using StackHost host = StackHost.Start(link, options);

        using StackSocket listener = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Listen(16);                                              // no bind: an ephemeral port
        var at = (IPEndPoint)listener.LocalEndPoint!;

        using StackSocket client = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Parse("10.9.0.1"), at.Port));   // through the stack's own address
        using StackSocket server = listener.Accept();
        client.Send("hello"u8);
        var buffer = new byte[5];
        server.Receive(buffer, StackSocketFlags.WaitAll);                 // "hello"
        output.WriteLine($"{server.RemoteEndPoint} sent \"{Encoding.ASCII.GetString(buffer)}\" to {server.LocalEndPoint}");
        far.Dispose();
    }
}
