using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// A bulk transfer (a number of bytes, or as much as the path takes until the stop), or an
/// on/off source that writes only during its on periods. The client closes when done or stopped;
/// a bulk flow of known size completes when the server has read its last byte.
/// </summary>
internal sealed class LabBulkFlow : LabTcpFlow
{
    private long _written;
    private bool _closed;

    public LabBulkFlow(LabFlowSpec spec, LabHost client, LabHost server, long runEnd)
        : base(spec, client, server, runEnd)
    {
    }

    protected override long StepClient(TcpConnection connection, long now)
    {
        if (_closed)
        {
            return long.MaxValue;
        }

        long size = Spec.Bytes ?? long.MaxValue;
        if (now >= StopAt || _written == size)
        {
            Close(connection);
            _closed = true;
            return long.MaxValue;
        }

        long wake = StopAt;
        if (Spec.Kind == LabFlowKind.OnOff)
        {
            long period = Spec.OnMicros + Spec.OffMicros;
            long phase = (now - Spec.StartMicros) % period;
            long periodStart = now - phase;
            if (phase >= Spec.OnMicros)
            {
                return Math.Min(wake, periodStart + period);
            }

            wake = Math.Min(wake, periodStart + Spec.OnMicros);
        }

        _written += Write(connection, size - _written);
        if (_written == size)
        {
            Close(connection);
            _closed = true;
        }

        return wake;
    }

    protected override void StepServer(TcpConnection connection, long now)
    {
        Bytes += ReadAll(connection, out bool ended);
        if (Spec.Bytes is { } size && Bytes >= size && CompletedAt is null)
        {
            CompletedAt = now;
        }

        if (ended && connection.State == TcpConnectionState.CloseWait)
        {
            Close(connection);
        }
    }
}
