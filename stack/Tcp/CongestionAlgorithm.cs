namespace TunStack.Tcp;

/// <summary>Congestion control algorithms a connection can use.</summary>
public enum CongestionAlgorithm
{
    /// <summary>RFC 5681 slow start and congestion avoidance, halving on loss.</summary>
    NewReno,

    /// <summary>RFC 9438 CUBIC (the default, as in Linux), with HyStart++ (RFC 9406) in slow start.</summary>
    Cubic,
}
