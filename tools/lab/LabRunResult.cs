namespace TunStack.Lab;

/// <summary>The outcome of a lab run: what summary.json holds.</summary>
public sealed class LabRunResult
{
    /// <summary>The scenario's name.</summary>
    public required string Scenario { get; init; }

    /// <summary>The seed the run used.</summary>
    public required int Seed { get; init; }

    /// <summary>Virtual time the run covered.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Each flow, in scenario order.</summary>
    public required IReadOnlyList<LabFlowResult> Flows { get; init; }

    /// <summary>Each link, in scenario order.</summary>
    public required IReadOnlyList<LabLinkResult> Links { get; init; }

    /// <summary>Each router, in scenario order.</summary>
    public IReadOnlyList<LabRouterResult> Routers { get; init; } = [];
}
