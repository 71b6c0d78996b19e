namespace TunStack.Lab;

/// <summary>A router of a scenario: forwards packets between its links by its routes.</summary>
internal sealed class LabRouterSpec
{
    public required string Name { get; init; }

    /// <summary>Explicit routes; destinations they do not cover go the shortest way to the host that owns them.</summary>
    public required IReadOnlyList<LabRouteSpec> Routes { get; init; }
}
