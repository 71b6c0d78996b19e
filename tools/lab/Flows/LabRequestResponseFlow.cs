using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// Requests and responses on one connection: the client writes a request, the server answers each
/// whole request with a response, the client reads it whole before the next request (at once,
/// or at the next interval). With a count it completes when the last response is read.
/// </summary>
internal sealed class LabRequestResponseFlow : LabTcpFlow
{
    private long _started;
    private long _done;
    private long _lastStart;
    private long _requestLeft;
    private long _responseRead;
    private bool _inRequest;
    private bool _closed;
    private long _serverPending;
    private long _serverOwed;

    public LabRequestResponseFlow(LabFlowSpec spec, LabHost client, LabHost server, long runEnd)
        : base(spec, client, server, runEnd)
    {
    }

    protected override long StepClient(TcpConnection connection, long now)
    {
        if (_closed)
        {
            return long.MaxValue;
        }

        if (_inRequest)
        {
            _requestLeft -= Write(connection, _requestLeft);
            long read = ReadAll(connection, out _);
            _responseRead += read;
            Bytes += read;
            if (_responseRead >= Spec.ResponseBytes)
            {
                _inRequest = false;
                _done++;
            }
        }

        if (_inRequest)
        {
            return long.MaxValue;
        }

        if (Spec.Count is { } count && _done >= count)
        {
            CompletedAt ??= now;
            Close(connection);
            _closed = true;
            return long.MaxValue;
        }

        long next = _started == 0 ? Spec.StartMicros : _lastStart + Spec.IntervalMicros;
        if (now >= StopAt)
        {
            Close(connection);
            _closed = true;
            return long.MaxValue;
        }

        if (now < next)
        {
            return next;
        }

        _started++;
        _lastStart = now;
        _inRequest = true;
        _responseRead = 0;
        _requestLeft = Spec.RequestBytes - Write(connection, Spec.RequestBytes);
        return long.MaxValue;
    }

    protected override void StepServer(TcpConnection connection, long now)
    {
        long read = ReadAll(connection, out bool ended);
        Bytes += read;
        _serverPending += read;
        while (_serverPending >= Spec.RequestBytes)
        {
            _serverPending -= Spec.RequestBytes;
            _serverOwed += Spec.ResponseBytes;
        }

        _serverOwed -= Write(connection, _serverOwed);
        if (ended && connection.State == TcpConnectionState.CloseWait)
        {
            Close(connection);
        }
    }
}
