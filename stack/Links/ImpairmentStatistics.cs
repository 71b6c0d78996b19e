namespace TunStack.Links;

/// <summary>Counts of what an <see cref="ImpairedLink"/> did to one direction.</summary>
public sealed class ImpairmentStatistics
{
    /// <summary>Packets offered.</summary>
    public long Offered { get; internal set; }
    /// <summary>Packets dropped by the loss rule.</summary>
    public long Lost { get; internal set; }
    /// <summary>Extra copies sent.</summary>
    public long Duplicated { get; internal set; }
    /// <summary>Packets held back to be overtaken.</summary>
    public long Reordered { get; internal set; }
    /// <summary>Packets with a flipped bit.</summary>
    public long Corrupted { get; internal set; }
    /// <summary>Packets dropped because the delay line was full.</summary>
    public long QueueDropped { get; internal set; }
    /// <summary>Packets delivered.</summary>
    public long Delivered { get; internal set; }
}
