namespace TunStack.Lab;

/// <summary>A node at the far end of a link direction: a host's port or a router.</summary>
internal interface ILabNode
{
    /// <summary>Takes a packet the link delivered at <paramref name="now"/> (microseconds).</summary>
    void Accept(LabPacket packet, long now);
}
