using TunStack.Lab;

namespace TunStack.Tests.Lab;

public class LossProcessTests
{
    private static double LossRate(LabLossSpec spec, int packets, int seed)
    {
        var process = new LossProcess(spec, new Random(seed));
        int lost = 0;
        for (int i = 0; i < packets; i++)
        {
            lost += process.NextIsLost() ? 1 : 0;
        }

        return (double)lost / packets;
    }

    [Theory]
    [InlineData(0.01, 0.10, 0.001, 0.5)]
    [InlineData(0.005, 0.2, 0.0, 1.0)]
    [InlineData(0.05, 0.05, 0.01, 0.3)]
    public void GilbertElliott_ManyPackets_LossRateMatchesStationaryFormula(double p, double r, double lossGood, double lossBad)
    {
        var spec = new LabLossSpec(true, p, r, lossGood, lossBad);
        double expected = ((r * lossGood) + (p * lossBad)) / (p + r);
        Assert.Equal(expected, spec.StationaryLoss, 12);
        double measured = LossRate(spec, 4_000_000, seed: 11);
        Assert.InRange(measured, expected * 0.96, expected * 1.04);
    }

    [Fact]
    public void GilbertElliott_ManyPackets_LossesComeInBursts()
    {
        // Mean stay in the bad state is 1 / r = 10 packets; with loss_bad 1 a loss is followed by another with probability 1 - r.
        var process = new LossProcess(new LabLossSpec(true, 0.01, 0.1, 0, 1), new Random(3));
        int losses = 0, lossAfterLoss = 0;
        bool previous = false;
        for (int i = 0; i < 400_000; i++)
        {
            bool lost = process.NextIsLost();
            losses += lost ? 1 : 0;
            lossAfterLoss += lost && previous ? 1 : 0;
            previous = lost;
        }

        Assert.InRange((double)lossAfterLoss / losses, 0.85, 0.95);
    }

    [Fact]
    public void Bernoulli_ManyPackets_LossRateIsTheProbability()
    {
        Assert.InRange(LossRate(LabLossSpec.Bernoulli(0.02), 400_000, seed: 7), 0.019, 0.021);
    }
}
