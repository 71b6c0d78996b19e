namespace TunStack.Links;

/// <summary>A decorator that records every packet crossing an inner link into a pcapng capture.</summary>
public sealed class CaptureLink : ILink
{
    private readonly ILink _inner;
    private readonly PcapngWriter _writer;

    /// <summary>Wraps <paramref name="inner"/>, writing to <paramref name="writer"/> (disposed with this link).</summary>
    public CaptureLink(ILink inner, PcapngWriter writer)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(writer);
        _inner = inner;
        _writer = writer;
    }

    /// <summary>The capture being written.</summary>
    public PcapngWriter Writer => _writer;

    /// <inheritdoc/>
    public int Mtu => _inner.Mtu;

    /// <inheritdoc/>
    public Instant NextDeadline => _inner.NextDeadline;

    /// <inheritdoc/>
    public bool CanWaitForPackets => _inner.CanWaitForPackets;

    /// <inheritdoc/>
    public void WaitForPackets(TimeSpan timeout) => _inner.WaitForPackets(timeout);

    /// <inheritdoc/>
    public void InterruptWait() => _inner.InterruptWait();

    /// <inheritdoc/>
    public Action? ReceiveReady
    {
        get => _inner.ReceiveReady;
        set => _inner.ReceiveReady = value;
    }

    /// <inheritdoc/>
    public int Receive(Storage.PacketBatch batch, Instant now)
    {
        int before = batch.Count;
        int n = _inner.Receive(batch, now);
        for (int i = before; i < before + n; i++)
        {
            _writer.Write(batch[i], now, CaptureDirection.Inbound);
        }

        return n;
    }

    /// <inheritdoc/>
    public void Transmit(Storage.PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            _writer.Write(batch[i], now, CaptureDirection.Outbound);
        }

        _inner.Transmit(batch, now);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writer.Dispose();
        _inner.Dispose();
    }
}
