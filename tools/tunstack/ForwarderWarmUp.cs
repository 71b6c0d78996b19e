using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// Runs one connection through the relay's code before <c>tunstack forward</c> says it is ready, so
/// the first connection from the namespace does not wait for the JIT (about 40 ms here, measured
/// from the destination's accept to the client's FIN reaching it; 2-6 ms once warm). The connection
/// never leaves the process and loopback: two stacks joined by a MemoryLink, the second forwarding to
/// an echo listener of this process on 127.0.0.1.
/// </summary>
public static class ForwarderWarmUp
{
    /// <summary>Relays a few bytes each way and back; gives up quietly after two seconds.</summary>
    public static void Run(ConsoleLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var echo = (IPEndPoint)listener.LocalEndPoint!;
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair(1500, 64);
        using StackHost client = StackHost.Start(near, Options("192.0.2.100/24", route: true), StackClock.Real, "warm-up-client");
        using StackHost forwarder = StackHost.Start(far, Options("192.0.2.2/24", route: false), StackClock.Real, "warm-up-forwarder");
        var statistics = new ForwardStatistics();
        forwarder.ForwardTcp(request => _ = Task.Run(() => TcpRelay.RunAsync(request, echo, TimeSpan.FromSeconds(2), statistics, log)));
        try
        {
            Task served = Task.Run(async () =>
            {
                using Socket accepted = await listener.AcceptAsync().ConfigureAwait(false);
                var buffer = new byte[16];
                int n;
                while ((n = await accepted.ReceiveAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    await accepted.SendAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                }
            });
            Task talked = Task.Run(async () =>
            {
                using StackSocket socket = await client.ConnectAsync(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 7)).ConfigureAwait(false);
                await socket.SendAsync("warm"u8.ToArray()).ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Send);
                var buffer = new byte[16];
                while (await socket.ReceiveAsync(buffer).ConfigureAwait(false) > 0)
                {
                }
            });
            if (!Task.WhenAll(served, talked).Wait(TimeSpan.FromSeconds(2)))
            {
                log.Debug("warm-up of the relay did not finish in 2 s; going on");
            }
        }
        catch (AggregateException e)
        {
            log.Debug($"warm-up of the relay failed ({e.InnerException?.Message}); going on");
        }
    }

    private static StackOptions Options(string address, bool route)
    {
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse(address));
        if (route)
        {
            options.Routes.Add(new Route(IpPrefix.Parse("0.0.0.0/0"), InternetAddress.Parse("192.0.2.2")));
        }

        return options;
    }
}
