// docs/examples/StackOnItsOwnThread.cs: a stack on the real clock, run by a StackRunner on a
// thread of its own; every use of the stack goes through InvokeAsync (or Post), which runs on
// that thread. Here it binds a UDP endpoint to an ephemeral port.
//   dotnet run --project docs/examples -- own-thread
using System.IO;
using System.Threading.Tasks;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets.Hosting;
using TunStack.Udp;

namespace TunStack.Examples;

public static class StackOnItsOwnThread
{
    public static async Task RunAsync(TextWriter output)
    {
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair();
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.7.0.1/24"));
        using var runner = new StackRunner(near, options);
        runner.Start();
        int port = await runner.InvokeAsync(stack =>
        {
            UdpEndpoint e = stack.OpenUdp();
            e.Bind(new InternetEndpoint(InternetAddress.AnyV4, 0));
            return (int)e.LocalEndpoint!.Value.Port;
        });
        runner.Stop();
        far.Dispose();
        output.WriteLine($"bound UDP port {port}");
    }
}
