using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// trace-FLOW.csv: the sending side of a TCP flow, from the connection's state and statistics
/// (<see cref="TcpConnection.GetInfo"/>), from when it opens until it closes: a row at every
/// sample interval and, when the scenario asks for it, one after every ACK the connection
/// processes. Keeps every RTT sample the connection took, for the summary's percentiles.
/// </summary>
internal sealed class LabFlowTrace : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly bool _everyAck;
    private TcpConnection? _connection;
    private NetworkStack? _stack;
    private bool _ended;

    public LabFlowTrace(string path, bool everyAck)
    {
        _writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        _writer.WriteLine(ConnectionTraceFormat.Header);
        _everyAck = everyAck;
    }

    /// <summary>The RTT samples the connection took (RFC 6298 measurements, not SRTT), in milliseconds.</summary>
    public List<double> RttSamples { get; } = new();

    /// <summary>Starts listening to <paramref name="connection"/>'s ACKs (once; later calls do nothing).</summary>
    public void Attach(TcpConnection connection, NetworkStack stack)
    {
        if (_connection is not null)
        {
            return;
        }

        _connection = connection;
        _stack = stack;
        connection.AckProcessed = OnAckProcessed;
    }

    /// <summary>Writes the row of <paramref name="connection"/> at <paramref name="now"/>; nothing once it has closed.</summary>
    public void Sample(long now, TcpConnection connection)
    {
        if (_ended)
        {
            return;
        }

        TcpConnectionInfo info = connection.GetInfo();
        _ended = info.State is TcpConnectionState.Closed or TcpConnectionState.TimeWait;
        _writer.WriteLine(ConnectionTraceFormat.Format(TimeSpan.FromMicroseconds(now), info));
    }

    public void Dispose() => _writer.Dispose();

    private void OnAckProcessed(TimeSpan rttSample)
    {
        if (rttSample > TimeSpan.Zero)
        {
            RttSamples.Add(rttSample.TotalMilliseconds);
        }

        if (_everyAck)
        {
            Sample(_stack!.Now.Microseconds, _connection!);
        }
    }
}
