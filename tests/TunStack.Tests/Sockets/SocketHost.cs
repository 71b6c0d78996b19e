using System.Net;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Storage;

namespace TunStack.Tests.Sockets;

/// <summary>
/// A StackHost on one end of a MemoryLink (10.9.0.1/24, fd09::1/64); the test holds the other end
/// (<see cref="Far"/>) to read what the stack sends and to answer as a raw peer. Sockets on the
/// host can also talk to each other through the stack's own addresses. The sockets made through
/// it (<see cref="Tcp"/>, <see cref="Udp"/>, <see cref="Listen"/>, <see cref="Pair"/> and the rest)
/// are closed when it is disposed, before the host stops.
/// </summary>
internal sealed class SocketHost : IDisposable
{
    public static readonly IPAddress Address = IPAddress.Parse("10.9.0.1");
    public static readonly IPAddress AddressV6 = IPAddress.Parse("fd09::1");
    public static readonly IPAddress FarAddress = IPAddress.Parse("10.9.0.2");

    private readonly PacketBatch _batch = new(64, 1500);
    private readonly List<StackSocket> _sockets = new();

    public SocketHost(StackClock clock = StackClock.Virtual, Action<StackOptions>? configure = null)
    {
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair();
        Far = far;
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.9.0.1/24"));
        options.Addresses.Add(IpPrefix.Parse("fd09::1/64"));
        configure?.Invoke(options);
        Host = StackHost.Start(near, options, clock, "socket-test");
    }

    public StackHost Host { get; }

    public MemoryLink Far { get; }

    public static IPEndPoint At(int port) => new(Address, port);

    public StackSocket Tcp(System.Net.Sockets.AddressFamily family = System.Net.Sockets.AddressFamily.InterNetwork)
        => Owned(Host.CreateSocket(family, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp));

    public StackSocket Udp(System.Net.Sockets.AddressFamily family = System.Net.Sockets.AddressFamily.InterNetwork)
        => Owned(Host.CreateSocket(family, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp));

    /// <summary>A datagram socket bound to 10.9.0.1:<paramref name="port"/>.</summary>
    public StackSocket BoundUdp(int port)
    {
        StackSocket socket = Udp();
        socket.Bind(At(port));
        return socket;
    }

    /// <summary>A listener on 10.9.0.1:<paramref name="port"/>.</summary>
    public StackSocket Listen(int port, int backlog = 16)
    {
        StackSocket listener = Tcp();
        listener.Bind(At(port));
        listener.Listen(backlog);
        return listener;
    }

    /// <summary>A connected pair through the stack: (client, accepted server side).</summary>
    public (StackSocket Client, StackSocket Server) Pair(int port)
    {
        using StackSocket listener = Listen(port);
        StackSocket client = Tcp();
        client.Connect(At(port));
        StackSocket server = Owned(listener.Accept());
        return (client, server);
    }

    /// <summary>The next packet the stack sent to the far end, waiting up to 10 s.</summary>
    public byte[] NextPacket(Func<byte[], bool>? match = null)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            _batch.Clear();
            Far.Receive(_batch, Instant.Zero);
            for (int i = 0; i < _batch.Count; i++)
            {
                byte[] packet = _batch[i].ToArray();
                if (match is null || match(packet))
                {
                    return packet;
                }
            }

            Thread.Sleep(1);
        }

        throw new TimeoutException("The stack sent no such packet within 10 s.");
    }

    /// <summary>Every packet the stack has sent to the far end so far.</summary>
    public List<byte[]> Drain()
    {
        var all = new List<byte[]>();
        do
        {
            _batch.Clear();
            Far.Receive(_batch, Instant.Zero);
            for (int i = 0; i < _batch.Count; i++)
            {
                all.Add(_batch[i].ToArray());
            }
        }
        while (_batch.Count > 0);
        return all;
    }

    /// <summary>Hands <paramref name="packet"/> to the stack as if the far end sent it.</summary>
    public void Inject(byte[] packet)
    {
        var batch = new PacketBatch(1, 1500);
        batch.TryAdd(packet);
        Far.Transmit(batch, Instant.Zero);
    }

    public void Dispose()
    {
        lock (_sockets)
        {
            _sockets.ForEach(s => s.Dispose());
        }

        Host.Dispose();
    }

    private StackSocket Owned(StackSocket socket)
    {
        lock (_sockets)
        {
            _sockets.Add(socket);
        }

        return socket;
    }
}
