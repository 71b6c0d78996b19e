using System.Globalization;
using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// trace-FLOW.csv: the sending side of a TCP flow sampled at the scenario's interval, from the
/// connection's state and statistics (<see cref="TcpConnection.GetInfo"/>), from when it opens
/// until it closes. Keeps the smoothed RTT of each sample for the summary's percentiles.
/// </summary>
internal sealed class LabFlowTrace : IDisposable
{
    public const string Header = "time_s,state,cwnd,ssthresh,srtt_ms,rttvar_ms,inflight,delivered,lost,retransmitted,pacing_rate_bps,rwnd";

    private readonly StreamWriter _writer;
    private bool _ended;

    public LabFlowTrace(string path)
    {
        _writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        _writer.WriteLine(Header);
    }

    /// <summary>Smoothed RTT at each sample that had one, in milliseconds.</summary>
    public List<double> SmoothedRtts { get; } = new();

    /// <summary>Writes the row of <paramref name="connection"/> at <paramref name="now"/>; nothing once it has closed.</summary>
    public void Sample(long now, TcpConnection connection, LabHostPort port)
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

        long rwnd = port.OfferedWindow(connection.Tuple.Local.Port) is { } window
            ? (long)window << Math.Max(0, connection.SendWindowScale)
            : 0;
        int ssthresh = info.SlowStartThreshold >= int.MaxValue / 2 ? -1 : info.SlowStartThreshold;
        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{LabFormat.Seconds(now)},{info.State},{info.CongestionWindow},{ssthresh},{srtt:0.###},{info.RttVariance.TotalMilliseconds:0.###},{info.Pipe},{info.BytesAcked},{info.Lost},{info.Retransmits},0,{rwnd}"));
    }

    public void Dispose() => _writer.Dispose();
}
