using System.Globalization;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// The connection cycle of the crr benchmark, in process on the virtual clock: a client on stack
/// A connects to a server on stack B, sends one byte, reads the one-byte answer and closes; the
/// server reads the request, answers, reads the end of the stream and closes (LAST-ACK, as the
/// daemon's echo server). Bytes allocated are measured on each side separately (its stack's
/// polls plus its application's calls), so the server's column is what a daemon pays per
/// connection. The client's TIME-WAIT is cut to 10 ms so that records do not pile up.
/// </summary>
internal static class ConnectionChurn
{
    /// <summary>Runs <paramref name="warmup"/> cycles, then <paramref name="cycles"/> measured ones, and prints bytes per cycle on each side.</summary>
    public static void Run(int warmup, int cycles)
    {
        var churn = new Cycle();
        churn.Run(warmup);
        (long client, long server) = churn.Run(cycles);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cycles} cycles: client side {client / (double)cycles:F0} B/cycle, server side {server / (double)cycles:F0} B/cycle"));
    }

    /// <summary>Two stacks and a listener, ready to run cycles.</summary>
    internal sealed class Cycle
    {
        private readonly NetworkStack _a;
        private readonly NetworkStack _b;
        private readonly TcpAcceptor _listener;
        private readonly InternetEndpoint _server = new(InternetAddress.Parse("10.0.0.2"), 7);
        private readonly byte[] _one = new byte[1];
        private readonly byte[] _buffer = new byte[64];
        private long _tick;
        private long _clientBytes;
        private long _serverBytes;

        public Cycle()
        {
            (MemoryLink la, MemoryLink lb) = MemoryLink.CreatePair(1500, 256);
            StackOptions client = ConnectedStacks.Options("10.0.0.1/24");
            client.Tcp.TimeWaitDuration = TimeSpan.FromMilliseconds(10);
            _a = new NetworkStack(la, client, Instant.Zero);
            _b = new NetworkStack(lb, ConnectedStacks.Options("10.0.0.2/24"), Instant.Zero);
            _listener = _b.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7), 128, out _)!;
        }

        /// <summary>Runs <paramref name="count"/> cycles; bytes allocated by the client side and by the server side.</summary>
        public (long Client, long Server) Run(int count)
        {
            _clientBytes = 0;
            _serverBytes = 0;
            for (int i = 0; i < count; i++)
            {
                One();
            }

            return (_clientBytes, _serverBytes);
        }

        private void One()
        {
            long t0 = GC.GetAllocatedBytesForCurrentThread();
            TcpConnection client = _a.ConnectTcp(_server, out StackError error)
                ?? throw new InvalidOperationException($"connect: {error}");
            _clientBytes += GC.GetAllocatedBytesForCurrentThread() - t0;

            TcpConnection? server = null;
            while (server is null)
            {
                Poll();
                long t = GC.GetAllocatedBytesForCurrentThread();
                _listener.TryAccept(out server);
                _serverBytes += GC.GetAllocatedBytesForCurrentThread() - t;
            }

            client.NoDelay = true;
            _clientBytes += AllocatedBy(() => client.Send(_one, out _));
            while (server.Available == 0)
            {
                Poll();
            }

            _serverBytes += AllocatedBy(() =>
            {
                server.NoDelay = true;
                server.Receive(_buffer, out _);
                server.Send(_one, out _);
            });
            while (client.Available == 0)
            {
                Poll();
            }

            _clientBytes += AllocatedBy(() =>
            {
                client.Receive(_buffer, out _);
                client.Close();
            });
            while (server.State != TcpConnectionState.CloseWait)
            {
                Poll();
            }

            _serverBytes += AllocatedBy(() =>
            {
                server.Receive(_buffer, out _); // the end of the stream
                server.Close();
            });
            while (server.State != TcpConnectionState.Closed || client.State is not (TcpConnectionState.Closed or TcpConnectionState.TimeWait))
            {
                Poll();
            }
        }

        // Bytes this thread allocates while running action.
        private static long AllocatedBy(Action action)
        {
            long t = GC.GetAllocatedBytesForCurrentThread();
            action();
            return GC.GetAllocatedBytesForCurrentThread() - t;
        }

        // One tick of 50 µs: each stack polls, its allocation counted to its side.
        private void Poll()
        {
            var now = new Instant(++_tick * 50);
            long t0 = GC.GetAllocatedBytesForCurrentThread();
            _a.Poll(now);
            long t1 = GC.GetAllocatedBytesForCurrentThread();
            _b.Poll(now);
            long t2 = GC.GetAllocatedBytesForCurrentThread();
            _clientBytes += t1 - t0;
            _serverBytes += t2 - t1;
        }
    }
}
