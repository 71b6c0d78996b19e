using System.Runtime.InteropServices;
using TunStack.Links;
using TunStack.Sockets.Hosting;
using TunStack.Tun;

namespace TunStack.Cli;

/// <summary>
/// A TUN interface with a stack running on it: the interface (namespace, device, kernel side),
/// an optional capture, and the real-clock runner. Dispose stops the stack, flushes the capture
/// and removes what was set up.
/// </summary>
public sealed class TunSession : IDisposable
{
    private readonly CaptureLink? _capture;
    private readonly CancellationTokenSource _stopping;
    private readonly List<PosixSignalRegistration> _signals = new();
    private bool _disposed;

    private TunSession(TunInterface tun, CaptureLink? capture, StackRunner runner, CancellationTokenSource stopping)
    {
        Interface = tun;
        _capture = capture;
        Runner = runner;
        _stopping = stopping;
    }

    /// <summary>The TUN interface.</summary>
    public TunInterface Interface { get; }

    /// <summary>The running stack.</summary>
    public StackRunner Runner { get; }

    /// <summary>Cancelled when a stop signal (SIGINT, and SIGTERM for the daemon) arrives.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Packets captured so far (0 without a capture).</summary>
    public long CapturedPackets => _capture?.Writer.PacketCount ?? 0;

    /// <summary>Sets up and starts; throws <see cref="TunException"/> or <see cref="IOException"/> with a message for the user.</summary>
    public static TunSession Start(TunSettings settings, ConsoleLog log) => Start(settings, log, new CancellationTokenSource());

    private static TunSession Start(TunSettings settings, ConsoleLog log, CancellationTokenSource stopping)
    {
        ArgumentNullException.ThrowIfNull(settings);
        TunInterface tun = TunInterface.Open(settings.ToInterfaceOptions(), log.Info);
        CaptureLink? capture = null;
        try
        {
            ILink link = tun.Device;
            if (settings.Impaired)
            {
                // Between the TUN and the capture: the capture shows what the stack really got and sent.
                link = new ImpairedLink(link, settings.Ingress, settings.Egress, settings.ImpairSeed);
                log.Info($"impairing: in {settings.Ingress}; out {settings.Egress}; seed {settings.ImpairSeed}");
            }

            if (settings.Capture is { } path)
            {
                capture = new CaptureLink(link, new PcapngWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read), StackRunner.UnixMicrosecondsAtZero, settings.Tun));
                link = capture;
            }

            var runner = new StackRunner(link, settings.ToStackOptions(), "tunstack-stack");
            runner.Start();
            return new TunSession(tun, capture, runner, stopping);
        }
        catch
        {
            capture?.Writer.Dispose();
            tun.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The start shared by the TUN commands: registers the stop signals first (so one arriving
    /// during setup is not lost), starts the session, and on failure prints "tunstack: reason" to
    /// <paramref name="error"/> and returns false (exit code 1 for the caller).
    /// </summary>
    public static bool TryStart(TunSettings settings, ConsoleLog log, TextWriter error, out TunSession? session, params PosixSignal[] stopSignals)
    {
        ArgumentNullException.ThrowIfNull(error);
        var stopping = new CancellationTokenSource();
        var registrations = stopSignals.Select(signal => PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            log.Info($"{context.Signal} received: stopping");
            stopping.Cancel();
        })).ToList();
        try
        {
            session = Start(settings, log, stopping);
        }
        catch (Exception e) when (e is TunException or IOException or UnauthorizedAccessException)
        {
            registrations.ForEach(r => r.Dispose());
            stopping.Dispose();
            error.WriteLine($"tunstack: {e.Message}");
            session = null;
            return false;
        }

        session._signals.AddRange(registrations);
        return true;
    }

    /// <summary>
    /// <see cref="TryStart"/> for a one-job command (ping, nc): Ctrl-C stops it, and its log shows
    /// warnings and errors only, unless a level is asked for.
    /// </summary>
    public static bool TryStartCommand(TunSettings settings, TextWriter error, out TunSession? session)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var log = new ConsoleLog(error, settings.Level == LogLevel.Info ? LogLevel.Warn : settings.Level);
        return TryStart(settings, log, error, out session, PosixSignal.SIGINT);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _signals.ForEach(r => r.Dispose());
        _stopping.Dispose();
        Runner.Dispose();
        _capture?.Writer.Dispose();
        Interface.Dispose();
    }
}
