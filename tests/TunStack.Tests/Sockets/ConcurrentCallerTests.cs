using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using CsCheck;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

/// <summary>
/// A connected StackSocket pair used as docs/sockets.md allows: one writer, one reader, and
/// Shutdown or Dispose from any thread, the calls drawn and run in parallel by CsCheck's
/// <c>SampleParallel</c>. After every run: no exception but the documented SocketException and
/// ObjectDisposedException; every byte read is the byte the writer wrote at that offset, once;
/// what a send reported as sent arrives unless the reader went away; and no blocked call outlives
/// the Dispose or Shutdown meant to wake it. A failure is shrunk to its shortest sequence.
/// </summary>
public class ConcurrentCallerTests
{
    private static readonly GenOperation<SocketPairUnderCalls>[] s_operations =
    [
        Gen.Int[1, 40_000].Operation<SocketPairUnderCalls>(n => $"send {n}", (p, n) => p.Send(n)),
        Gen.Int[1, 40_000].Operation<SocketPairUnderCalls>(n => $"receive {n}", (p, n) => p.Receive(n)),
        Gen.Operation<SocketPairUnderCalls>("writer shutdown send", p => p.Closing(Side.Writer, () => p.Writer.Shutdown(SocketShutdown.Send), wakesWriter: true)),
        Gen.Operation<SocketPairUnderCalls>("reader shutdown receive", p => p.Closing(Side.Reader, () => p.Reader.Shutdown(SocketShutdown.Receive), wakesReader: true)),
        Gen.Operation<SocketPairUnderCalls>("reader shutdown both", p => p.Closing(Side.Reader, () => p.Reader.Shutdown(SocketShutdown.Both), wakesReader: true)),
        Gen.Operation<SocketPairUnderCalls>("writer dispose", p => p.Closing(Side.Writer, p.Writer.Dispose, wakesWriter: true, disposes: true)),
        Gen.Operation<SocketPairUnderCalls>("reader dispose", p => p.Closing(Side.Reader, p.Reader.Dispose, wakesReader: true, disposes: true)),
    ];

    [Fact]
    public void OneReaderOneWriterAndClosersOnAnyThread_EveryRun_ByteExactAndEveryWaiterWoken()
    {
        Gen.Const(() => new SocketPairUnderCalls()).SampleParallel(
            s_operations,
            equal: (parallel, sequential) =>
            {
                sequential.Dispose(); // the sequential runs only stand in for CsCheck's linearization
                return parallel.Verdict() is null;
            },
            maxSequentialOperations: 4,
            maxParallelOperations: 3,
            threads: 2,
            print: p => p.Verdict() ?? p.ToString());
    }

    internal enum Side
    {
        Writer,
        Reader,
    }

    /// <summary>
    /// A pair through one stack (its own address) with short timeouts: the writer's and the
    /// reader's progress, every unexpected exception, and when each side was closed.
    /// </summary>
    internal sealed class SocketPairUnderCalls : IDisposable
    {
        private const int Timeout = 1000; // SendTimeout and ReceiveTimeout, ms
        private const int WakeSlack = 500; // how long a call may go on after the close that should end it, ms
        private const int Prefill = 100_000; // sent before the calls, so that most receives find data at once
        private static int s_port = 20000;

        private readonly SocketHost _host = new(StackClock.Real);
        private readonly object _writerTurn = new(), _readerTurn = new();
        private readonly ConcurrentQueue<string> _problems = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _sent, _received;
        private long _writerWokenAt = long.MaxValue, _readerWokenAt = long.MaxValue;
        private bool _writerGone, _readerGone, _writerShut, _readerDisposed;
        private string? _verdict;
        private bool _judged;

        public SocketPairUnderCalls()
        {
            (Writer, Reader) = _host.Pair(Interlocked.Increment(ref s_port));
            Writer.SendTimeout = Timeout;
            Reader.ReceiveTimeout = Timeout;
            Send(Prefill);
        }

        public StackSocket Writer { get; }

        public StackSocket Reader { get; }

        public static byte PatternAt(long offset) => (byte)((offset * 7) + (offset >> 9));

        public void Send(int length)
        {
            lock (_writerTurn)
            {
                var data = new byte[length];
                for (int i = 0; i < length; i++)
                {
                    data[i] = PatternAt(_sent + i);
                }

                long began = _clock.ElapsedMilliseconds;
                int n = Call(() => (Writer.Send(data, SocketFlags.None, out SocketError error), error), out SocketError result);
                _sent += n;
                if (result == SocketError.TimedOut)
                {
                    CheckWoken(began, Volatile.Read(ref _writerWokenAt), "send");
                }
            }
        }

        public void Receive(int length)
        {
            lock (_readerTurn)
            {
                var buffer = new byte[length];
                long began = _clock.ElapsedMilliseconds;
                int n = Call(() => (Reader.Receive(buffer, SocketFlags.None, out SocketError error), error), out SocketError result);
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] != PatternAt(_received + i))
                    {
                        _problems.Enqueue($"byte {_received + i} read as {buffer[i]}, written as {PatternAt(_received + i)}");
                        break;
                    }
                }

                _received += n;
                if (result == SocketError.TimedOut)
                {
                    CheckWoken(began, Volatile.Read(ref _readerWokenAt), "receive");
                }
            }
        }

        /// <summary>A Shutdown or Dispose of one side, from whichever thread runs it.</summary>
        public void Closing(Side side, Action close, bool wakesWriter = false, bool wakesReader = false, bool disposes = false)
        {
            long now = _clock.ElapsedMilliseconds;
            if (wakesWriter)
            {
                Interlocked.CompareExchange(ref _writerWokenAt, now, long.MaxValue);
            }

            if (wakesReader)
            {
                Interlocked.CompareExchange(ref _readerWokenAt, now, long.MaxValue);
            }

            if (side == Side.Writer)
            {
                _writerGone |= disposes;
                _writerShut = true;
            }
            else
            {
                _readerGone = true; // shut down for reading or disposed: what is unread may be dropped
                _readerDisposed |= disposes;
            }

            Call(() =>
            {
                close();
                return (0, SocketError.Success);
            }, out _);
        }

        /// <summary>Null when the run kept every rule, else what it broke.</summary>
        public string? Verdict()
        {
            lock (_readerTurn)
            {
                if (!_judged)
                {
                    _judged = true;
                    _verdict = Judge();
                    _host.Dispose();
                }

                return _verdict;
            }
        }

        /// <summary>Ends the pair without judging it (a judged pair has ended already).</summary>
        public void Dispose()
        {
            lock (_readerTurn)
            {
                if (!_judged)
                {
                    _judged = true;
                    _host.Dispose();
                }
            }
        }

        public override string ToString() => $"sent {_sent}, received {_received}, writer {(_writerGone ? "disposed" : _writerShut ? "shut" : "open")}, reader {(_readerDisposed ? "disposed" : _readerGone ? "shut" : "open")}";

        private string? Judge()
        {
            if (!_problems.IsEmpty)
            {
                return string.Join("; ", _problems);
            }

            if (_received > _sent)
            {
                return $"read {_received} bytes, only {_sent} were sent";
            }

            if (_readerGone)
            {
                return null; // what was unread may have gone with the reader
            }

            // Drain: everything a send reported as sent must arrive, in order, then (once the
            // writer has shut down or gone) the end of the stream.
            Reader.ReceiveTimeout = 5000;
            var buffer = new byte[65536];
            while (_received < _sent || _writerShut)
            {
                int n = Call(() => (Reader.Receive(buffer, SocketFlags.None, out SocketError error), error), out SocketError result);
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] != PatternAt(_received + i))
                    {
                        return $"draining: byte {_received + i} read as {buffer[i]}, written as {PatternAt(_received + i)}";
                    }
                }

                _received += n;
                if (n == 0 || result != SocketError.Success)
                {
                    break;
                }
            }

            if (!_problems.IsEmpty)
            {
                return string.Join("; ", _problems);
            }

            return _received < _sent ? $"lost bytes: {_sent} sent, {_received} arrived ({this})" : null;
        }

        // A blocked call that ended by its timeout although a close meant to wake it came early enough.
        private void CheckWoken(long began, long wokenAt, string what)
        {
            long ended = _clock.ElapsedMilliseconds;
            if (wokenAt != long.MaxValue && wokenAt >= began && ended - wokenAt > WakeSlack)
            {
                _problems.Enqueue($"a blocked {what} was not woken: it timed out {ended - wokenAt} ms after the close");
            }
        }

        // Runs one call; the documented exceptions and errors are results, anything else a problem.
        private int Call(Func<(int Count, SocketError Error)> call, out SocketError result)
        {
            try
            {
                (int count, result) = call();
                return count;
            }
            catch (ObjectDisposedException)
            {
                result = SocketError.OperationAborted;
                return 0;
            }
            catch (SocketException e)
            {
                result = e.SocketErrorCode;
                return 0;
            }
            catch (Exception e)
            {
                _problems.Enqueue($"{e.GetType().Name}: {e.Message}");
                result = SocketError.SocketError;
                return 0;
            }
        }
    }
}
