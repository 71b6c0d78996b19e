// docs/examples/ForwardingEveryAddress.cs: any-address termination in an embedding app. An app
// stack routes everything to a forwarder stack (both in memory here); the forwarder owns none of
// the addresses the app dials, yet answers for all of them: port 80 is accepted from the original
// destination and served, anything else is refused with a reset, as a closed port would be.
//   dotnet run --project docs/examples -- forward-any
using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Examples;

public static class ForwardingEveryAddress
{
    public static async Task RunAsync(TextWriter output)
    {
        (MemoryLink appSide, MemoryLink forwarderSide) = MemoryLink.CreatePair();
        var appOptions = new StackOptions();
        appOptions.Addresses.Add(IpPrefix.Parse("10.0.2.100/24"));
        appOptions.Routes.Add(new Route(IpPrefix.Parse("0.0.0.0/0"), InternetAddress.Parse("10.0.2.2")));
        var forwarderOptions = new StackOptions();
        forwarderOptions.Addresses.Add(IpPrefix.Parse("10.0.2.2/24"));
        using StackHost app = StackHost.Start(appSide, appOptions, StackClock.Real, "app");
        using StackHost forwarder = StackHost.Start(forwarderSide, forwarderOptions, StackClock.Real, "forwarder");

        // Runs on the forwarder's stack thread: decide quickly, or hand the request to a task.
        forwarder.ForwardTcp(request =>
        {
            if (request.Destination.Port != 80)
            {
                request.Reject();
                return;
            }

            _ = Task.Run(async () =>
            {
                using StackSocket socket = await request.AcceptAsync();
                byte[] answer = Encoding.ASCII.GetBytes($"you reached {socket.LocalEndPoint} from {socket.RemoteEndPoint}\n");
                await socket.SendAsync(answer);
                socket.Shutdown(SocketShutdown.Send);
            });
        });

        foreach (string destination in new[] { "203.0.113.7:80", "198.51.100.20:80", "203.0.113.7:81" })
        {
            try
            {
                using StackSocket client = await app.ConnectAsync(IPEndPoint.Parse(destination));
                var buffer = new byte[128];
                int n = await client.ReceiveAsync(buffer);
                output.Write(Encoding.ASCII.GetString(buffer, 0, n));
            }
            catch (SocketException e)
            {
                output.WriteLine($"{destination}: {e.SocketErrorCode}");
            }
        }
    }
}
