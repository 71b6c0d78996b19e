using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// The running stack as its loops see it: one <see cref="StackRunner"/>, or with <c>--queues N</c>
/// one per TUN queue, each with its own partition of the stack (see
/// <see cref="Links.PartitionSteering"/>). What the daemon reports (ss, stats, status, the
/// SIGUSR1 dump and the exit lines) is read from every partition and summed here.
/// </summary>
public sealed class StackPartitions
{
    /// <summary>The partitions' runners, partition 0 first (one for an unpartitioned stack).</summary>
    public StackPartitions(IReadOnlyList<StackRunner> runners)
    {
        ArgumentNullException.ThrowIfNull(runners);
        ArgumentOutOfRangeException.ThrowIfZero(runners.Count);
        Runners = runners;
        Completion = runners.Count == 1 ? runners[0].Completion : Task.WhenAny(runners.Select(r => r.Completion)).Unwrap();
    }

    /// <summary>Every partition's runner, partition 0 first.</summary>
    public IReadOnlyList<StackRunner> Runners { get; }

    /// <summary>Partition 0's runner: the only one without partitions.</summary>
    public StackRunner First => Runners[0];

    /// <summary>How many partitions (loops) run the stack.</summary>
    public int Count => Runners.Count;

    /// <summary>Completes when the first loop ends (faulted if it failed): the stack is then no longer whole.</summary>
    public Task Completion { get; }

    /// <summary>
    /// The counters of the whole stack: partition 0's own with one partition, else a new sum of
    /// every partition's (each read as <see cref="StackRunner.Counters"/> allows, from any thread).
    /// </summary>
    public StackCounters Counters
    {
        get
        {
            if (Runners.Count == 1)
            {
                return Runners[0].Counters;
            }

            var sum = new StackCounters();
            foreach (StackRunner runner in Runners)
            {
                foreach (Counter counter in Enum.GetValues<Counter>())
                {
                    sum.Add(counter, runner.Counters[counter]);
                }
            }

            return sum;
        }
    }

    /// <summary>Runs <paramref name="func"/> on every partition's thread, each on its own stack; the results in partition order.</summary>
    public Task<T[]> InvokeEachAsync<T>(Func<NetworkStack, T> func) => Task.WhenAll(Runners.Select(r => r.InvokeAsync(func)));

    /// <summary>Runs <paramref name="func"/> on every partition's thread with the partition's index; the results in partition order.</summary>
    public Task<T[]> InvokeEachAsync<T>(Func<int, NetworkStack, T> func) => Task.WhenAll(Runners.Select((r, i) => r.InvokeAsync(stack => func(i, stack))));
}
