namespace TunStack.Tun;

/// <summary>What one reader/writer of TUN queues counted: packets read and written, and the failures.</summary>
internal struct TunQueueCounts
{
    public long Read;
    public long Written;
    public long ReadErrors;
    public long WriteDrops;
    public long BadHeaders;
}
