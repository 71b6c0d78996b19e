namespace TunStack.Tcp.Congestion;

/// <summary>
/// One delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation): the data delivered
/// between the send of the most recently sent segment this ACK delivered and now, over the longer
/// of that segment's send interval and ack interval.
/// </summary>
public readonly struct DeliveryRateSample
{
    /// <summary>True when the sample may be used (an interval at least the minimum RTT, some data delivered).</summary>
    public bool IsValid { get; init; }

    /// <summary>Bytes delivered per second over <see cref="Interval"/> (0 when not valid).</summary>
    public double BytesPerSecond { get; init; }

    /// <summary>Bytes delivered in the interval.</summary>
    public long Delivered { get; init; }

    /// <summary>The interval the rate is measured over.</summary>
    public TimeSpan Interval { get; init; }

    /// <summary>The connection's delivered count when the sampled segment was sent (rounds may be counted from it).</summary>
    public long PriorDelivered { get; init; }

    /// <summary>The connection's delivered count now (bytes delivered since it opened).</summary>
    public long TotalDelivered { get; init; }

    /// <summary>True when the sampled segment was sent while the application, not the network, limited sending: the rate is a lower bound.</summary>
    public bool IsAppLimited { get; init; }
}
