using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// Two stacks (10.0.0.1 and 10.0.0.2) on the two ends of a wire with one TCP connection between
/// them, driven on one thread by <see cref="Poll"/> with a clock of 10 µs ticks: the setting of
/// the TCP micro benchmarks.
/// </summary>
internal sealed class ConnectedStacks
{
    private long _tick;

    /// <summary>Connects a client on <paramref name="a"/> to a server on <paramref name="b"/> (port 5001), Nagle off.</summary>
    public ConnectedStacks(MemoryLink a, MemoryLink b, int sendBufferSize = 0, int receiveBufferSize = 0)
    {
        A = new NetworkStack(a, Options("10.0.0.1/24"), Instant.Zero);
        B = new NetworkStack(b, Options("10.0.0.2/24"), Instant.Zero);
        TcpAcceptor listener = B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 5001), 8, out _)!;
        Client = A.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 5001), out _, sendBufferSize: sendBufferSize, receiveBufferSize: receiveBufferSize)!;
        for (int i = 0; i < 10; i++)
        {
            Poll();
        }

        listener.TryAccept(out TcpConnection? server);
        Server = server!;
        Client.NoDelay = true;
    }

    public NetworkStack A { get; }

    public NetworkStack B { get; }

    public TcpConnection Client { get; }

    public TcpConnection Server { get; }

    /// <summary>Options for a stack with one address, seeded.</summary>
    public static StackOptions Options(string address)
    {
        var o = new StackOptions { RandomSeed = 1 };
        o.Addresses.Add(IpPrefix.Parse(address));
        return o;
    }

    /// <summary>One tick of the clock: both stacks poll.</summary>
    public void Poll()
    {
        var now = new Instant(++_tick * 10);
        A.Poll(now);
        B.Poll(now);
    }
}
