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
    private bool _disposed;

    private TunSession(TunInterface tun, CaptureLink? capture, StackRunner runner)
    {
        Interface = tun;
        _capture = capture;
        Runner = runner;
    }

    /// <summary>The TUN interface.</summary>
    public TunInterface Interface { get; }

    /// <summary>The running stack.</summary>
    public StackRunner Runner { get; }

    /// <summary>Packets captured so far (0 without a capture).</summary>
    public long CapturedPackets => _capture?.Writer.PacketCount ?? 0;

    /// <summary>Sets up and starts; throws <see cref="TunException"/> or <see cref="IOException"/> with a message for the user.</summary>
    public static TunSession Start(TunSettings settings, ConsoleLog log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        TunInterface tun = TunInterface.Open(settings.ToInterfaceOptions(), log.Info);
        CaptureLink? capture = null;
        try
        {
            ILink link = tun.Device;
            if (settings.Capture is { } path)
            {
                capture = new CaptureLink(link, new PcapngWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read), StackRunner.UnixMicrosecondsAtZero, settings.Tun));
                link = capture;
            }

            var runner = new StackRunner(link, settings.ToStackOptions(), "tunstack-stack");
            runner.Start();
            return new TunSession(tun, capture, runner);
        }
        catch
        {
            capture?.Writer.Dispose();
            tun.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Runner.Dispose();
        _capture?.Writer.Dispose();
        Interface.Dispose();
    }
}
