namespace TunStack.Lab;

/// <summary>
/// Random loss on a link: Bernoulli (each packet lost with <see cref="LossGood"/>) or
/// Gilbert-Elliott (a good and a bad state; <see cref="P"/> moves good to bad, <see cref="R"/>
/// bad to good, each packet then lost with its state's probability).
/// </summary>
internal sealed record LabLossSpec(bool GilbertElliott, double P, double R, double LossGood, double LossBad)
{
    public static LabLossSpec None { get; } = new(false, 0, 0, 0, 0);

    public static LabLossSpec Bernoulli(double probability) => new(false, 0, 0, probability, 0);

    /// <summary>The long-run fraction of packets lost: (r * loss_good + p * loss_bad) / (p + r) for Gilbert-Elliott.</summary>
    public double StationaryLoss => !GilbertElliott ? LossGood : P + R == 0 ? LossGood : ((R * LossGood) + (P * LossBad)) / (P + R);
}
