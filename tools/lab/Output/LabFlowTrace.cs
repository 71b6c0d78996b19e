using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// trace-FLOW.csv: the sending side of a TCP flow sampled at the scenario's interval, from the
/// connection's state and statistics (<see cref="TcpConnection.GetInfo"/>), from when it opens
/// until it closes. Keeps the smoothed RTT of each sample for the summary's percentiles.
/// </summary>
internal sealed class LabFlowTrace : IDisposable
{
    private readonly StreamWriter _writer;
    private bool _ended;

    public LabFlowTrace(string path)
    {
        _writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        _writer.WriteLine(ConnectionTraceFormat.Header);
    }

    /// <summary>Smoothed RTT at each sample that had one, in milliseconds.</summary>
    public List<double> SmoothedRtts { get; } = new();

    /// <summary>Writes the row of <paramref name="connection"/> at <paramref name="now"/>; nothing once it has closed.</summary>
    public void Sample(long now, TcpConnection connection)
    {
        if (_ended)
        {
            return;
        }

        TcpConnectionInfo info = connection.GetInfo();
        _ended = info.State is TcpConnectionState.Closed or TcpConnectionState.TimeWait;
        double srtt = info.SmoothedRtt.TotalMilliseconds;
        if (srtt > 0)
        {
            SmoothedRtts.Add(srtt);
        }

        _writer.WriteLine(ConnectionTraceFormat.Format(TimeSpan.FromMicroseconds(now), info));
    }

    public void Dispose() => _writer.Dispose();
}
