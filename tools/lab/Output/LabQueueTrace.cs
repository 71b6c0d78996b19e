using System.Globalization;

namespace TunStack.Lab;

/// <summary>queue-LINK.csv: a link's queue occupancy (both directions together) at each sample, with its cumulative drops and marks.</summary>
internal sealed class LabQueueTrace : IDisposable
{
    public const string Header = "time_s,packets,bytes,dropped,marked";

    private readonly StreamWriter _writer;

    public LabQueueTrace(string path)
    {
        _writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        _writer.WriteLine(Header);
    }

    public void Sample(long now, LabLink link) =>
        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{LabFormat.Seconds(now)},{link.QueuedPackets},{link.QueuedBytes},{link.Dropped},{link.Marked}"));

    public void Dispose() => _writer.Dispose();
}
