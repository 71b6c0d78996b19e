using TunStack.Ip;
using TunStack.Tests.Integration;
using TunStack.Udp;

namespace TunStack.Tests;

public class SimulationTests
{
    [Fact]
    public void RunUntil_ConditionSendsADatagram_ItLeavesAtOnceNotWhenTheTimeoutEnds()
    {
        // The condition is where a test's application acts (reads, sends); what it queues must
        // go out before the clock moves, not at the next deadline (here there is none but the end).
        var pair = new TwoStacks();
        pair.StartEchoOnB(7);
        UdpEndpoint client = pair.A.OpenUdp();
        var buffer = new byte[64];
        bool sent = false;
        Instant start = pair.Simulation.Clock.Now;

        bool answered = pair.Simulation.RunUntil(() =>
        {
            if (!sent)
            {
                sent = client.SendTo("ping"u8, new InternetEndpoint(TwoStacks.B4, 7)) == StackError.None;
            }

            return client.TryReceiveFrom(buffer, out _, out _, out _);
        }, TimeSpan.FromSeconds(30));

        Assert.True(answered);
        Assert.Equal(start, pair.Simulation.Clock.Now);
    }
}
