namespace TunStack.Lab;

/// <summary>A link between two nodes: one <see cref="LabChannelSpec"/> per direction.</summary>
internal sealed class LabLinkSpec
{
    public required string Name { get; init; }

    public required string A { get; init; }

    public required string B { get; init; }

    public required int Mtu { get; init; }

    /// <summary>Write LINK.pcapng (default true).</summary>
    public bool Capture { get; init; } = true;

    public required LabChannelSpec AToB { get; init; }

    public required LabChannelSpec BToA { get; init; }
}
