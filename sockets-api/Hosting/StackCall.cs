
namespace TunStack.Sockets.Hosting;

/// <summary>A stretch of time in which the calling thread has the stack to itself (see <see cref="StackRunner.Enter"/>).</summary>
public readonly ref struct StackCall
{
    private readonly StackRunner _runner;

    internal StackCall(StackRunner runner, NetworkStack stack)
    {
        _runner = runner;
        Stack = stack;
    }

    /// <summary>The stack, usable until <see cref="Dispose"/>.</summary>
    public NetworkStack Stack { get; }

    /// <summary>Flushes what the call queued and gives the stack back.</summary>
    public void Dispose() => _runner.Exit();
}
