// Two whole stacks talking TCP to each other over an impaired link: the path's loss, duplication,
// reordering and delay, and what the applications on both ends do, are chosen by the input.
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Fuzz;

/// <summary>
/// Stack A (10.0.0.1) and stack B (10.0.0.2, listening on port 80) on the virtual clock, joined
/// by a <see cref="MemoryLink"/> pair with an <see cref="ImpairedLink"/> on each end for what that
/// end sends. The input: a shape byte (bit 0 NewReno instead of CUBIC, bit 1 a tight memory
/// limit on B, bit 2 no receive coalescing, bit 3 the application reads only when told), then the
/// path (each way: loss 0-31%, duplicates 0-15%, reordering 0-31%, delay 0-63 ms), then up to 256
/// operations of two bytes, the first saying what and on which of four connection slots, the
/// second how much: A connects; either end sends the slot's stream pattern, reads, shuts down,
/// closes or aborts; B accepts; time passes. Every byte either end reads must be the pattern at
/// its offset, in order and once (a path without corruption must never change the stream), and
/// both stacks keep <see cref="StackInvariants"/> after every step. At the end both applications
/// close everything and read to the end, time runs out, and no connection, TIME-WAIT or byte of
/// TCP memory may be left on either stack.
/// </summary>
internal static class PairTarget
{
    public const byte ShapeNewReno = 1, ShapeTightMemory = 2, ShapeNoCoalescing = 4, ShapeReadOnRequest = 8;
    private const int Slots = 4;
    private const int MaxOperations = 256;
    private const ushort Port = 80;
    private static readonly InternetAddress AddressB = InternetAddress.Parse("10.0.0.2");

    public static void Run(ReadOnlySpan<byte> input) => RunCounted(input);

    /// <summary>Runs <paramref name="input"/>; the bytes the applications sent and read, over both ends of every connection.</summary>
    public static (long Sent, long Read) RunCounted(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        byte shape = reader.Byte();
        Impairment ab = PathFrom(ref reader);
        Impairment ba = PathFrom(ref reader);
        var pair = new Pair(shape, ab, ba);
        for (int n = 0; n < MaxOperations && reader.Remaining > 0; n++)
        {
            pair.Apply(reader.Byte(), reader.Byte());
        }

        pair.Finish();
        return pair.Totals;
    }

    /// <summary>Inputs our own code makes: a clean path and lossy ones, with bulk, request/response, half-close and abort.</summary>
    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        byte[] clean = [0, 0, 0, 0, 0, 0, 0, 0];
        byte[] lossy = [5, 0, 2, 10, 3, 1, 0, 10];
        byte[] bulk = [Op(Operation.Connect, 0), 0, Op(Operation.Wait, 0), 50, Op(Operation.Accept, 0), 0, Op(Operation.SendA, 0), 255, Op(Operation.Wait, 0), 50, Op(Operation.SendA, 0), 255, Op(Operation.Wait, 0), 200];
        byte[] rr = [Op(Operation.Connect, 1), 0, Op(Operation.Wait, 0), 50, Op(Operation.Accept, 0), 0, Op(Operation.SendA, 1), 1, Op(Operation.Wait, 0), 5, Op(Operation.ReadB, 1), 255, Op(Operation.SendB, 1), 2, Op(Operation.Wait, 0), 5, Op(Operation.CloseA, 1), 0];
        byte[] halfClose = [Op(Operation.Connect, 2), 0, Op(Operation.Wait, 0), 50, Op(Operation.Accept, 0), 0, Op(Operation.SendA, 2), 40, Op(Operation.ShutdownA, 2), 0, Op(Operation.Wait, 0), 30, Op(Operation.SendB, 2), 80, Op(Operation.CloseB, 2), 0];
        byte[] abort = [Op(Operation.Connect, 3), 0, Op(Operation.Wait, 0), 50, Op(Operation.Accept, 0), 0, Op(Operation.SendB, 3), 100, Op(Operation.AbortA, 3), 0, Op(Operation.Wait, 0), 30];
        yield return ("clean-bulk", [0, .. clean, .. bulk]);
        yield return ("lossy-bulk", [0, .. lossy, .. bulk]);
        yield return ("clean-request-response", [0, .. clean, .. rr]);
        yield return ("lossy-request-response-newreno", [ShapeNewReno, .. lossy, .. rr]);
        yield return ("lossy-half-close", [ShapeReadOnRequest, .. lossy, .. halfClose]);
        yield return ("clean-abort-tight-memory", [ShapeTightMemory, .. clean, .. abort]);
    }

    private static byte Op(Operation operation, int slot) => (byte)(((int)operation << 2) | slot);

    // Four bytes: loss, duplicates, reordering (each a percentage) and delay (ms).
    private static Impairment PathFrom(ref FuzzInputReader reader) => new()
    {
        LossPercent = reader.Byte() & 31,
        DuplicatePercent = reader.Byte() & 15,
        ReorderPercent = reader.Byte() & 31,
        Delay = TimeSpan.FromMilliseconds(reader.Byte() & 63),
    };

    private enum Operation
    {
        Connect, Accept, SendA, SendB, ReadA, ReadB, ShutdownA, ShutdownB, CloseA, CloseB, AbortA, AbortB, Wait,
    }

    /// <summary>The two stacks, their applications' connections, and what each has sent and read.</summary>
    private sealed class Pair
    {
        private readonly Simulation _simulation = new(new VirtualClock(Instant.FromMilliseconds(1000)));
        private readonly NetworkStack _a;
        private readonly NetworkStack _b;
        private readonly TcpAcceptor _listener;
        private bool _readOnRequest;
        private readonly End?[] _clients = new End?[Slots];
        private readonly End?[] _servers = new End?[Slots];

        public Pair(byte shape, Impairment ab, Impairment ba)
        {
            _readOnRequest = (shape & ShapeReadOnRequest) != 0;
            (MemoryLink la, MemoryLink lb) = MemoryLink.CreatePair(1500, queueCapacity: 1024);
            _a = _simulation.Add(new NetworkStack(new ImpairedLink(la, Impairment.None, ab, seed: 1), Options("10.0.0.1/24", shape, tight: false), _simulation.Clock.Now));
            _b = _simulation.Add(new NetworkStack(new ImpairedLink(lb, Impairment.None, ba, seed: 2), Options("10.0.0.2/24", shape, tight: (shape & ShapeTightMemory) != 0), _simulation.Clock.Now));
            _listener = _b.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, Port), backlog: Slots, out _)
                ?? throw new InvalidOperationException("the fixture's listener did not open");
        }

        public void Apply(byte what, byte amount)
        {
            int slot = what & 3;
            End? client = _clients[slot];
            End? server = _servers[slot];
            switch ((Operation)((what >> 2) % 13))
            {
                case Operation.Connect:
                    if (client is null)
                    {
                        TcpConnection? c = _a.ConnectTcp(new InternetEndpoint(AddressB, Port), out _);
                        _clients[slot] = c is null ? null : new End(c, _a.Counters, salt: slot);
                    }

                    break;
                case Operation.Accept:
                    Accept();
                    break;
                case Operation.SendA:
                    client?.Send(amount * 64);
                    break;
                case Operation.SendB:
                    server?.Send(amount * 64);
                    break;
                case Operation.ReadA:
                    client?.Read(amount * 64 + 1);
                    break;
                case Operation.ReadB:
                    server?.Read(amount * 64 + 1);
                    break;
                case Operation.ShutdownA:
                    client?.Connection.Shutdown();
                    break;
                case Operation.ShutdownB:
                    server?.Connection.Shutdown();
                    break;
                case Operation.CloseA:
                    client?.Connection.Close();
                    break;
                case Operation.CloseB:
                    server?.Connection.Close();
                    break;
                case Operation.AbortA:
                    client?.Connection.Abort();
                    break;
                case Operation.AbortB:
                    server?.Connection.Abort();
                    break;
                default:
                    Run(TimeSpan.FromMilliseconds(amount * 4));
                    return;
            }

            Run(TimeSpan.Zero);
        }

        /// <summary>What the applications sent and read, over both ends of every connection.</summary>
        public (long Sent, long Read) Totals => (_clients.Concat(_servers).Sum(e => e?.Sent ?? 0), _clients.Concat(_servers).Sum(e => e?.ReadCount ?? 0));

        /// <summary>Both applications close everything, read to the end, and time runs out: nothing may be left.</summary>
        public void Finish()
        {
            // First the applications take what has come, so that a close finds nothing unread
            // (which would be a reset, and data sent but never read).
            _readOnRequest = false;
            Accept();
            Run(TimeSpan.FromSeconds(30));
            for (int i = 0; i < 60; i++)
            {
                Accept();
                foreach (End? end in _clients.Concat(_servers))
                {
                    end?.Connection.Close();
                }

                if (i == 0)
                {
                    _listener.Close();
                }

                Run(TimeSpan.FromMinutes(1));
                if (_a.TcpConnections == (0, 0) && _b.TcpConnections == (0, 0))
                {
                    break; // nothing left to wait for
                }
            }

            InvariantViolationException.Check(_a.TcpConnections == (0, 0), $"stack A kept connections after every one closed and an hour passed: {_a.TcpConnections}");
            InvariantViolationException.Check(_b.TcpConnections == (0, 0), $"stack B kept connections after every one closed and an hour passed: {_b.TcpConnections}");
            InvariantViolationException.Check(_a.TcpMemory.InUseBytes == 0 && _b.TcpMemory.InUseBytes == 0,
                $"TCP memory not returned after every connection closed: A {_a.TcpMemory.InUseBytes}, B {_b.TcpMemory.InUseBytes} bytes");
        }

        private static StackOptions Options(string address, byte shape, bool tight)
        {
            var options = new StackOptions { RandomSeed = 1, CoalesceReceivedSegments = (shape & ShapeNoCoalescing) == 0 };
            options.Addresses.Add(IpPrefix.Parse(address));
            options.Tcp.CongestionControl = (shape & ShapeNewReno) != 0 ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic;
            options.Tcp.SendBufferSize = 16 * 1024;
            options.Tcp.ReceiveBufferSize = 16 * 1024;
            options.Tcp.SendBufferMax = 256 * 1024;
            options.Tcp.ReceiveBufferMax = 256 * 1024;
            if (tight)
            {
                options.Tcp.MemoryLimit = 12 * options.Tcp.BufferChunkSize;
            }

            return options;
        }

        private void Accept()
        {
            while (_listener.TryAccept(out TcpConnection? accepted))
            {
                // The server's end goes in the slot of the client it answers (by the client's port).
                int slot = Array.FindIndex(_clients, c => c is not null && c.Connection.Tuple.Local.Port == accepted!.Tuple.Remote.Port);
                if (slot >= 0 && _servers[slot] is null)
                {
                    _servers[slot] = new End(accepted!, _b.Counters, salt: Slots + slot);
                }
                else
                {
                    accepted!.Abort();
                }
            }
        }

        // Time passes by `duration` (at least to the next instant with nothing left to do), the
        // applications reading whatever arrives unless they read only when told; the invariants
        // hold at every step.
        private void Run(TimeSpan duration)
        {
            Instant until = _simulation.Clock.Now + duration;
            while (true)
            {
                Instant next = _simulation.Settle();
                if (!_readOnRequest)
                {
                    foreach (End? end in _clients.Concat(_servers))
                    {
                        end?.Read(int.MaxValue);
                    }
                }

                StackInvariants.Check(_a, _clients.Where(c => c is not null).Select(c => c!.Connection));
                StackInvariants.Check(_b, _servers.Where(s => s is not null).Select(s => s!.Connection));
                if (next > until || next == Instant.MaxValue)
                {
                    _simulation.AdvanceTo(until);
                    _simulation.Settle();
                    return;
                }

                _simulation.AdvanceTo(next);
            }
        }
    }

    /// <summary>One end of a connection: the stream pattern it sends (by salt) and how much of it went, and its reader, which checks that what it reads is the other end's pattern.</summary>
    private sealed class End(TcpConnection connection, StackCounters counters, int salt)
    {
        private readonly long _base = (long)salt << 40;
        private readonly byte[] _chunk = new byte[16 * 1024];
        private readonly ApplicationReader _reader = new(connection, counters, checkPattern: true, patternStart: (long)(salt < Slots ? salt + Slots : salt - Slots) << 40, readSize: 16 * 1024);
        private long _sent;

        public TcpConnection Connection { get; } = connection;

        public long Sent => _sent;

        public long ReadCount => _reader.BytesRead;

        public void Send(int count)
        {
            while (count > 0)
            {
                int n = Math.Min(count, _chunk.Length);
                for (int i = 0; i < n; i++)
                {
                    _chunk[i] = StreamPattern.At(_base + _sent + i);
                }

                int taken = Connection.Send(_chunk.AsSpan(0, n), out _);
                _sent += taken;
                count -= n;
                if (taken < n)
                {
                    return;
                }
            }
        }

        public void Read(int limit) => _reader.Read(limit);
    }
}
