namespace TunStack.Tcp;

/// <summary>
/// The built-in congestion control algorithms. Any registered algorithm, these included, can also
/// be chosen by name (<see cref="TunStack.Tcp.Congestion.CongestionControlRegistry"/>).
/// </summary>
public enum CongestionAlgorithm
{
    /// <summary>RFC 5681 slow start and congestion avoidance, halving on loss ("reno").</summary>
    NewReno,

    /// <summary>RFC 9438 CUBIC (the default, as in Linux), with HyStart++ (RFC 9406) in slow start ("cubic").</summary>
    Cubic,

    /// <summary>BBR version 1 (draft-cardwell-iccrg-bbr-congestion-control-00), paced ("bbr").</summary>
    Bbr,

    /// <summary>An algorithm registered by name that is not one of the built-ins (read only: set it by name).</summary>
    Custom,
}
