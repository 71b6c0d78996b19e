
namespace TunStack.Tests.Sockets;

/// <summary>
/// Counts the bytes every thread allocates, so it runs alone: a collection with parallelization
/// disabled waits for the other tests and keeps them out while it measures.
/// </summary>
[CollectionDefinition(nameof(ProcessWideAllocation), DisableParallelization = true)]
public sealed class ProcessWideAllocation
{
}
