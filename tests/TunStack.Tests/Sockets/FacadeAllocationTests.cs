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
        long before = GC.GetTotalAllocatedBytes(precise: true);
        const int rounds = 5000;
        await RoundTrips(rounds);
        long perRound = (GC.GetTotalAllocatedBytes(precise: true) - before) / rounds;
        a.Shutdown(SocketShutdown.Send);
        await echo.WaitAsync(TimeSpan.FromSeconds(10));

        // Every thread of the process counts here (loop, pool, test runner), so allow a few
        // bytes per round for the runner's own bookkeeping; one boxed state machine or
        // Task per call would be 100+ bytes.
        Assert.True(perRound < 48, $"{perRound} bytes allocated per round trip");
    }
}
