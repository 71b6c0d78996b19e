// docs/examples/Program.cs: runs one example by name, so that each can be tried as it stands:
//   dotnet run --project docs/examples -- NAME [ARGUMENTS]
// Without a name it lists them. embedded-app needs a TUN device and a namespace (root, or
// CAP_NET_ADMIN and CAP_SYS_ADMIN); the others run anywhere, over in-memory links.
using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TunStack.Examples;
using TunStack.Sockets;

var examples = new Dictionary<string, (string What, Func<string[], Task<int>> Run)>
{
    ["two-stacks"] = ("two stacks on a virtual clock: ping and UDP (docs/using-the-core.md)", _ =>
    {
        TwoStacksOnAVirtualClock.Run(Console.Out);
        return Task.FromResult(0);
    }),
    ["own-thread"] = ("a stack on the real clock on a thread of its own (docs/using-the-core.md)", async _ =>
    {
        await StackOnItsOwnThread.RunAsync(Console.Out);
        return 0;
    }),
    ["capture"] = ("capture and impairment composed [FILE] (docs/using-the-core.md)", a =>
    {
        CapturingAndImpairing.Run(a.Length > 1 ? a[1] : "capture.pcapng", Console.Out);
        return Task.FromResult(0);
    }),
    ["offloads"] = ("TSO and partial checksums between two stacks on a virtual clock (docs/using-the-core.md)", _ =>
    {
        OffloadsOnAVirtualClock.Run(Console.Out);
        return Task.FromResult(0);
    }),
    ["forward-any"] = ("any-address termination: StackHost.ForwardTcp answers for every address (docs/forward.md)", async _ =>
    {
        await ForwardingEveryAddress.RunAsync(Console.Out);
        return 0;
    }),
    ["lab-congestion"] = ($"a congestion control of your own in a lab scenario, beside CUBIC (docs/lab.md)", _ =>
    {
        LabWithYourCongestionControl.Run(Console.Out);
        return Task.FromResult(0);
    }),
    ["custom-congestion"] = ($"a congestion control of your own, registered as '{DelayAimdCongestionControl.RegisteredName}' (docs/congestion-control.md)", _ =>
    {
        CustomCongestionControl.Run(Console.Out);
        return Task.FromResult(0);
    }),
    ["packetdotnet"] = ("packets built with PacketDotNet into a stack through PacketDotNetPackets.ToIpBytes, its answers parsed with PacketDotNet (docs/using-the-core.md)", _ =>
    {
        CraftedPacketsIntoAStack.Run(Console.Out);
        return Task.FromResult(0);
    }),
    ["tcp-echo"] = ("TCP listen, connect, echo, close on a virtual clock (docs/tcp.md)", _ =>
    {
        TcpEchoOnAVirtualClock.Run(Console.Out);
        return Task.FromResult(0);
    }),
    ["first-socket"] = ("StackSocket: listen, connect, send, receive (docs/sockets.md)", _ =>
    {
        FirstSocketProgram.Run(Console.Out);
        return Task.FromResult(0);
    }),
    ["select-server"] = ("the glibc manual's select() server with three stream clients", async _ =>
    {
        using StackHost host = ExampleHost.Start();
        using StackSocket listening = SelectServer.MakeSocket(host, 5555);
        Task server = Task.Run(() => SelectServer.Run(listening, Console.Out, messages: 3));
        for (int i = 0; i < 3; i++)
        {
            StreamClient.Run(host, new IPEndPoint(ExampleHost.Address, 5555));
        }

        await server;
        return 0;
    }),
    ["uppercase-datagram"] = ("TLPI's ud_ucase server and clients (sendto/recvfrom, and connect)", async _ =>
    {
        using StackHost host = ExampleHost.Start();
        using StackSocket sfd = UppercaseDatagram.Bind(host, 50002);
        Task server = Task.Run(() => UppercaseDatagram.Server(sfd, Console.Out, count: 4));
        var at = new IPEndPoint(ExampleHost.Address, 50002);
        Console.WriteLine(string.Join(' ', UppercaseDatagram.Client(host, at, "hello", "world")));
        Console.WriteLine(string.Join(' ', UppercaseDatagram.ConnectedClient(host, at, "abc", "xyz")));
        await server;
        return 0;
    }),
    ["poll-set-echo"] = ("an echo server on one edge-triggered PollSet with three clients (docs/sockets.md)", async _ =>
    {
        using StackHost host = ExampleHost.Start();
        using StackSocket listening = PollSetEchoServer.Listen(host, 5556);
        Task server = Task.Run(() => PollSetEchoServer.Run(listening, Console.Out, clients: 3));
        for (int i = 0; i < 3; i++)
        {
            using StackSocket client = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(ExampleHost.Address, 5556));
            byte[] message = Encoding.ASCII.GetBytes($"hello from client {i}");
            client.Send(message);
            client.Shutdown(SocketShutdown.Send);
            var echo = new byte[message.Length];
            int got = 0;
            while (got < echo.Length)
            {
                int n = client.Receive(echo.AsSpan(got));
                if (n == 0)
                {
                    break;
                }

                got += n;
            }

            Console.WriteLine($"Client {i}: {Encoding.ASCII.GetString(echo, 0, got)}");
        }

        await server;
        return 0;
    }),
    ["embedded-app"] = ("ASP.NET Core and HttpClient over the app's own stack on a TUN [NETNS] (docs/embedding.md)", a
        => EmbeddedApp.RunOnTunAsync(Console.Out, Console.Error, a.Length > 1 ? a[1] : "embedded-app", CancellationToken.None)),
};

if (args.Length == 0 || !examples.TryGetValue(args[0], out var example))
{
    Console.Error.WriteLine(args.Length == 0 ? "examples:" : $"no example '{args[0]}'; the examples are:");
    foreach ((string name, (string what, _)) in examples)
    {
        Console.Error.WriteLine($"  {name,-20} {what}");
    }

    return args.Length == 0 ? 0 : 2;
}

return await example.Run(args);
