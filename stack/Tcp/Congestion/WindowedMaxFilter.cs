namespace TunStack.Tcp.Congestion;

/// <summary>
/// The largest sample of the last <c>window</c> rounds (BBR's BtlBw filter): one slot per round in
/// a ring, so a round's maximum is forgotten once <c>window</c> newer rounds have begun. Fixed size:
/// updates allocate nothing and cost one pass over the ring.
/// </summary>
internal sealed class WindowedMaxFilter
{
    private readonly double[] _values;
    private readonly long[] _rounds;

    public WindowedMaxFilter(int window)
    {
        _values = new double[window];
        _rounds = new long[window];
        Array.Fill(_rounds, long.MinValue);
    }

    /// <summary>The largest sample of the window (0 before any).</summary>
    public double Best { get; private set; }

    /// <summary>Takes <paramref name="value"/> as a sample of round <paramref name="round"/> (rounds never go back).</summary>
    public void Update(double value, long round)
    {
        int window = _values.Length;
        int slot = (int)(round % window);
        if (_rounds[slot] != round)
        {
            _rounds[slot] = round;
            _values[slot] = value;
        }
        else if (value > _values[slot])
        {
            _values[slot] = value;
        }

        double best = 0;
        for (int i = 0; i < window; i++)
        {
            if (_rounds[i] > round - window && _values[i] > best)
            {
                best = _values[i];
            }
        }

        Best = best;
    }
}
