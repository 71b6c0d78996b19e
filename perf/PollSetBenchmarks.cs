using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using TunStack.Sockets;

namespace TunStack.Perf;

/// <summary>
/// Readiness at scale (issue #12): <see cref="Registered"/> UDP sockets in one <see cref="PollSet"/>
/// on one StackHost over a MemoryLink, of which 100 are active. Every benchmark reports the cost
/// per ready event (100 per invocation); the set's numbers should stay flat as
/// <see cref="Registered"/> grows, where poll(2) over every registered socket grows with it.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet calls [GlobalCleanup], which disposes the set.")]
public class PollSetBenchmarks
{
    private const int Active = 100;
    private const int FirstPort = 20_000;
    private StackHost _host = null!;
    private StackSocket _sender = null!;
    private StackSocket[] _sockets = null!;
    private StackSocket[] _active = null!;
    private IPEndPoint[] _activeAt = null!;
    private PollDescriptor[] _everyRegistered = null!;
    private PollSet _set = null!;
    private readonly ReadySocket[] _ready = new ReadySocket[2 * Active];
    private readonly byte[] _datagram = new byte[32];
    private readonly byte[] _buffer = new byte[2048];

    /// <summary>How many sockets are registered (the active 100 among them, spread evenly).</summary>
    [Params(100, 1_000, 10_000)]
    public int Registered { get; set; }

    /// <summary>Level-triggered, each active socket holding one unread datagram.</summary>
    [GlobalSetup(Targets = new[] { nameof(LevelWait), nameof(PollEveryRegistered) })]
    public void SetupLevel() => Build(PollTrigger.Level, unreadDatagram: true);

    /// <summary>One-shot, each active socket holding one unread datagram.</summary>
    [GlobalSetup(Target = nameof(OneShotRearmAndWait))]
    public void SetupOneShot() => Build(PollTrigger.OneShot, unreadDatagram: true);

    /// <summary>Edge-triggered, nothing queued.</summary>
    [GlobalSetup(Target = nameof(EdgeDatagramWaitRead))]
    public void SetupEdge() => Build(PollTrigger.Edge, unreadDatagram: false);

    [GlobalCleanup]
    public void Cleanup()
    {
        _set.Dispose();
        foreach (StackSocket socket in _sockets)
        {
            socket.Dispose();
        }

        _sender.Dispose();
        _host.Dispose();
    }

    /// <summary>
    /// epoll_wait over a level-triggered set whose 100 active sockets stay readable: the wait
    /// reports them and puts them back on the ready list. The set's own cost per ready event.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Active)]
    public int LevelWait() => Expect(_set.Wait(_ready, 0));

    /// <summary>
    /// The one-shot pattern of multi-threaded servers: EPOLL_CTL_MOD re-arms each of the 100
    /// (readable) sockets, then one wait reports them.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Active)]
    public int OneShotRearmAndWait()
    {
        foreach (StackSocket socket in _active)
        {
            _set.Modify(socket, PollEvents.Readable, PollTrigger.OneShot);
        }

        return Expect(_set.Wait(_ready, 0));
    }

    /// <summary>
    /// End to end, edge-triggered: a datagram to each of the 100 active sockets through the stack,
    /// waits until all 100 were reported, reads each until WouldBlock.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Active)]
    public int EdgeDatagramWaitRead()
    {
        foreach (IPEndPoint at in _activeAt)
        {
            _sender.SendTo(_datagram, at);
        }

        int reported = 0;
        while (reported < Active)
        {
            int n = _set.Wait(_ready, 10_000);
            if (n == 0)
            {
                throw new InvalidOperationException($"{reported} of {Active} datagrams reported within 10 s.");
            }

            for (int i = 0; i < n; i++)
            {
                ReadUntilWouldBlock(_ready[i].Socket);
            }

            reported += n;
        }

        return reported;
    }

    /// <summary>
    /// For comparison, what the set saves: poll(2) (StackSocket.Poll, timeout 0) over every
    /// registered socket, finding the same 100. Its cost grows with <see cref="Registered"/>.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Active)]
    public int PollEveryRegistered() => Expect(StackSocket.Poll(_everyRegistered, 0));

    private void Build(PollTrigger trigger, bool unreadDatagram)
    {
        _host = FacadeMeasurements.StartHost();
        _sender = _host.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _sockets = new StackSocket[Registered];
        _active = new StackSocket[Active];
        _activeAt = new IPEndPoint[Active];
        _everyRegistered = new PollDescriptor[Registered];
        _set = new PollSet();
        int spacing = Registered / Active;
        for (int i = 0; i < Registered; i++)
        {
            var at = new IPEndPoint(FacadeMeasurements.Address, FirstPort + i);
            StackSocket socket = _host.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(at);
            _sockets[i] = socket;
            _everyRegistered[i] = new PollDescriptor(socket, PollEvents.Readable);
            _set.Add(socket, PollEvents.Readable, trigger);
            if (i % spacing == 0)
            {
                _active[i / spacing] = socket;
                _activeAt[i / spacing] = at;
            }
        }

        if (unreadDatagram)
        {
            foreach (IPEndPoint at in _activeAt)
            {
                _sender.SendTo(_datagram, at);
            }

            foreach (StackSocket socket in _active)
            {
                if (!socket.Poll(10_000_000, SelectMode.SelectRead))
                {
                    throw new InvalidOperationException("A datagram did not arrive within 10 s.");
                }
            }
        }

        // One-shot: the first wait reports the sockets (and disarms them), as every later one does after Modify.
        _set.Wait(_ready, 0);
    }

    private void ReadUntilWouldBlock(StackSocket socket)
    {
        SocketError error;
        do
        {
            socket.Receive(_buffer, StackSocketFlags.DontWait, out error);
        }
        while (error == SocketError.Success);
    }

    private static int Expect(int reported) => reported == Active ? reported : throw new InvalidOperationException($"{reported} sockets reported, {Active} expected.");
}
