namespace TunStack.Lab;

/// <summary>
/// The random loss of one link direction, drawn packet by packet from its own seeded generator:
/// Bernoulli, or a two-state Gilbert-Elliott chain that moves state before each packet.
/// </summary>
internal sealed class LossProcess
{
    private readonly LabLossSpec _spec;
    private readonly Random _random;

    public LossProcess(LabLossSpec spec, Random random)
    {
        _spec = spec;
        _random = random;
    }

    /// <summary>True while the Gilbert-Elliott chain is in its bad state.</summary>
    public bool InBadState { get; private set; }

    /// <summary>Whether the next packet is lost.</summary>
    public bool NextIsLost()
    {
        if (_spec.GilbertElliott)
        {
            InBadState = InBadState ? _random.NextDouble() >= _spec.R : _random.NextDouble() < _spec.P;
            double loss = InBadState ? _spec.LossBad : _spec.LossGood;
            return loss > 0 && _random.NextDouble() < loss;
        }

        return _spec.LossGood > 0 && _random.NextDouble() < _spec.LossGood;
    }
}
