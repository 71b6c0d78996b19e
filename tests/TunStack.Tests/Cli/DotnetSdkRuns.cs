namespace TunStack.Tests.Cli;

/// <summary>
/// Tests that start the .NET SDK themselves (a build of the CLI, a test run of their own): each
/// takes both cores of a small machine for a while, so they run alone, after the parallel tests,
/// rather than starve the tests that measure throughput or wait on timers.
/// </summary>
[CollectionDefinition(nameof(DotnetSdkRuns), DisableParallelization = true)]
public sealed class DotnetSdkRuns
{
}
