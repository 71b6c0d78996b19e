using System.Net.Sockets;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

[Collection(nameof(ProcessWideAllocation))]
public class FacadeAllocationTests
{
    [Fact]
    public Task AsyncEcho_SteadyState_AllocatesNothingPerRoundTrip() => EchoAllocatesNothingPerRoundTrip(zeroByteReceiveFirst: false);

    // The echo side waits with a zero-byte receive before each read, as Kestrel's and
    // StackDuplexPipe's receive loops do: the wait allocates nothing either.
    [Fact]
    public Task AsyncEcho_ZeroByteReceiveBeforeEachRead_AllocatesNothingPerRoundTrip() => EchoAllocatesNothingPerRoundTrip(zeroByteReceiveFirst: true);

    private static async Task EchoAllocatesNothingPerRoundTrip(bool zeroByteReceiveFirst)
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket a, StackSocket b) = h.Pair(217);
        a.NoDelay = true;
        b.NoDelay = true;
        var ping = new byte[64];
        var pong = new byte[64];
        var echoBuffer = new byte[64];
        using var stop = new CancellationTokenSource();
        Task echo = Task.Run(async () =>
        {
            while (true)
            {
                if (zeroByteReceiveFirst)
                {
                    await b.ReceiveAsync(Memory<byte>.Empty);
                }

                int n = await b.ReceiveAsync(echoBuffer);
                if (n == 0)
                {
                    return;
                }

                await b.SendAsync(echoBuffer.AsMemory(0, n));
            }
        });

        async Task RoundTrips(int count)
        {
            for (int i = 0; i < count; i++)
            {
                await a.SendAsync(ping);
                await a.ReceiveAsync(pong, StackSocketFlags.WaitAll);
            }
        }

        await RoundTrips(2000); // warm up: pools, JIT tiers
        const int rounds = 5000;
        var perRound = new List<long>();
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            await RoundTrips(rounds);
            perRound.Add((GC.GetTotalAllocatedBytes(precise: true) - before) / rounds);
        }

        a.Shutdown(SocketShutdown.Send);
        await echo.WaitAsync(TimeSpan.FromSeconds(10));

        // Every thread of the process counts here (loop, pool, test runner, a background JIT
        // compilation), so allow a few bytes per round for that bookkeeping, and judge the
        // quietest of three windows: an allocation per call is in every window, the process's
        // background work is not. One boxed state machine or Task per call would be 100+ bytes.
        Assert.True(perRound.Min() < 48, $"bytes allocated per round trip in three windows: {string.Join(", ", perRound)}");
    }
}
