// docs/examples/TcpEchoOnAVirtualClock.cs: the core's TCP endpoints on two stacks and a virtual
// clock. B listens on port 7 and echoes; A connects, sends "hello, tcp", reads the echo and
// closes; B closes when A has, and A's side ends in TIME-WAIT.
//   dotnet run --project docs/examples -- tcp-echo
using System;
using System.IO;
using System.Text;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Examples;

public static class TcpEchoOnAVirtualClock
{
    public static void Run(TextWriter output)
    {
        var sim = new Simulation();
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair();
        var optionsA = new StackOptions();
        optionsA.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        var optionsB = new StackOptions();
        optionsB.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        NetworkStack client = sim.Add(new NetworkStack(wireA, optionsA));
        NetworkStack server = sim.Add(new NetworkStack(wireB, optionsB));

        TcpAcceptor listener = server.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7), backlog: 16, out StackError error)!;
        listener.Readable = () =>
        {
            while (listener.TryAccept(out TcpConnection? accepted))
            {
                TcpConnection c = accepted!;
                var buffer = new byte[4096];
                c.Readable = () =>
                {
                    int n;
                    StackError e;
                    while ((n = c.Receive(buffer, out e)) > 0)
                    {
                        c.Send(buffer.AsSpan(0, n), out _);   // echo
                    }

                    if (n == 0 && e == StackError.None)
                    {
                        c.Close();                             // the client closed: close our side too
                    }
                };
            }
        };

        TcpConnection connection = client.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 7), out error)!;
        sim.RunUntil(() => connection.State == TcpConnectionState.Established, TimeSpan.FromSeconds(5));
        connection.Send("hello, tcp"u8, out error);
        sim.RunUntil(() => connection.Available == 10, TimeSpan.FromSeconds(5));
        var reply = new byte[10];
        connection.Receive(reply, out error);
        connection.Close();
        sim.RunUntil(() => connection.State == TcpConnectionState.TimeWait, TimeSpan.FromSeconds(5));
        output.WriteLine($"echoed \"{Encoding.ASCII.GetString(reply)}\" ({error}); the client's side is now {connection.State}");
    }
}
