namespace TunStack.Links;

/// <summary>
/// A decorator that records every packet crossing an inner link into a pcapng capture. Offloaded
/// packets are recorded as the wire packets they stand for: a super-segment as its segments, a
/// partial checksum completed, so that a reader sees (and tshark checks) what a wire would carry.
/// </summary>
public sealed class CaptureLink : ILink
{
    private readonly ILink _inner;
    private readonly PcapngWriter _writer;
    private Storage.PacketBatch? _segmented;

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
    public int MaxPacketLength => _inner.MaxPacketLength;

    /// <inheritdoc/>
    public LinkOffloads Offloads => _inner.Offloads;

    /// <inheritdoc/>
    public Instant NextDeadline => _inner.NextDeadline;

    /// <inheritdoc/>
    public bool CanWaitForPackets => _inner.CanWaitForPackets;

    /// <inheritdoc/>
    public void WaitForPackets(TimeSpan timeout) => _inner.WaitForPackets(timeout);

    /// <inheritdoc/>
    public void InterruptWait() => _inner.InterruptWait();

    /// <inheritdoc/>
    public bool CanReadBlocking => _inner.CanReadBlocking;

    /// <inheritdoc/>
    public void BeginBlockingReads() => _inner.BeginBlockingReads();

    /// <inheritdoc/>
    public int ReadBlocking(Storage.PacketBatch batch) => _inner.ReadBlocking(batch);

    /// <inheritdoc/>
    public void InterruptRead() => _inner.InterruptRead();

    /// <summary>Records what the inner link admits, as <see cref="Receive"/> records what it gives.</summary>
    public int Admit(Storage.PacketBatch batch, Instant now)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int n = _inner.Admit(batch, now);
        for (int i = 0; i < n; i++)
        {
            Record(batch, i, now, CaptureDirection.Inbound);
        }

        return n;
    }

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
            Record(batch, i, now, CaptureDirection.Inbound);
        }

        return n;
    }

    /// <inheritdoc/>
    public void Transmit(Storage.PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            Record(batch, i, now, CaptureDirection.Outbound);
        }

        _inner.Transmit(batch, now);
    }

    private void Record(Storage.PacketBatch batch, int index, Instant now, CaptureDirection direction)
    {
        ref readonly PacketOffload offload = ref batch.OffloadAt(index);
        if (!offload.IsSet || offload.Checksum == PacketChecksum.Verified && offload.Segmentation == PacketSegmentation.None)
        {
            _writer.Write(batch[index], now, direction);
            return;
        }

        _segmented ??= SoftwareSegmentation.WireBatch(_inner.Mtu);
        _segmented.Clear();
        if (SoftwareSegmentation.Segment(batch[index], offload, _segmented) < 0)
        {
            _writer.Write(batch[index], now, direction); // as it came: the stack drops and counts it
            return;
        }

        for (int i = 0; i < _segmented.Count; i++)
        {
            _writer.Write(_segmented[i], now, direction);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writer.Dispose();
        _inner.Dispose();
    }
}
