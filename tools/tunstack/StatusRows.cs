namespace TunStack.Cli;

/// <summary>Page <see cref="Page"/> of <see cref="Pages"/> of a <see cref="StatusSnapshot"/>'s connections: <see cref="Rows"/>, at most <see cref="PageSize"/>.</summary>
public sealed record StatusRows(int Page, int Pages, int PageSize, IReadOnlyList<HttpService.ConnectionRow> Rows);
