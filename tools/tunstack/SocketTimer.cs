namespace TunStack.Cli;

/// <summary>
/// The timer <c>ss -o</c> shows on a socket's line: <c>timer:(on,204ms,0)</c>, its name
/// (on, persist, keepalive, timewait), the time left and the count (retransmissions since the last
/// new acknowledgment, or keepalive probes unanswered).
/// </summary>
/// <param name="Name">ss's name of the timer.</param>
/// <param name="Left">Time until it fires (zero when it is due).</param>
/// <param name="Count">The count ss shows third.</param>
public sealed record SocketTimer(string Name, TimeSpan Left, int Count)
{
    /// <summary>ss's words for the timer.</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"timer:({Name},{SsLayout.Duration(Left)},{Count})");
}
