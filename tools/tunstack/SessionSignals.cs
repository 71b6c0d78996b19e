using System.Runtime.InteropServices;

namespace TunStack.Cli;

/// <summary>
/// The signals a TUN-backed command answers instead of dying: SIGINT and SIGTERM stop it (and
/// SIGHUP too for a one-job command such as ping or nc, so a closed terminal ends it cleanly);
/// SIGHUP (for the daemon) and SIGUSR1 are requests handed to <see cref="Requested"/>. Registered
/// before anything is set up, so a signal arriving during setup is not lost to the default action.
/// </summary>
public sealed class SessionSignals : IDisposable
{
    /// <summary>SIGUSR1 (10 on Linux), which PosixSignal has no name for; PosixSignalRegistration takes the raw number.</summary>
    public const PosixSignal SIGUSR1 = (PosixSignal)10;

    private readonly CancellationTokenSource _stopping = new();
    private readonly List<PosixSignalRegistration> _registrations = new();

    /// <summary>Registers the handlers; <paramref name="daemon"/> makes SIGHUP a request rather than a stop.</summary>
    public SessionSignals(ConsoleLog log, bool daemon)
    {
        ArgumentNullException.ThrowIfNull(log);
        PosixSignal[] stops = daemon ? [PosixSignal.SIGINT, PosixSignal.SIGTERM] : [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP];
        PosixSignal[] requests = daemon ? [PosixSignal.SIGHUP, SIGUSR1] : [SIGUSR1];
        foreach (PosixSignal signal in stops)
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                log.Info($"{Name(context.Signal)} received: stopping");
                _stopping.Cancel();
            }));
        }

        foreach (PosixSignal signal in requests)
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                if (Requested is { } requested)
                {
                    requested(context.Signal);
                }
                else
                {
                    log.Warn($"{Name(context.Signal)} received while starting: ignored");
                }
            }));
        }
    }

    /// <summary>Cancelled when a stop signal arrives.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Called (on a signal thread) for each request signal; until it is set, requests are ignored with a log line.</summary>
    public Action<PosixSignal>? Requested { get; set; }

    /// <summary>"SIGHUP", "SIGUSR1".</summary>
    public static string Name(PosixSignal signal) => signal == SIGUSR1 ? "SIGUSR1" : signal.ToString();

    /// <inheritdoc/>
    public void Dispose()
    {
        _registrations.ForEach(r => r.Dispose());
        _stopping.Dispose();
    }
}
