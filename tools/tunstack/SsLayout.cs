using System.Globalization;
using System.Text;
using TunStack.Ip;
using TunStack.Tcp;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack ss</c>'s output in iproute2 ss's layout: a header of ss's column names (Netid when
/// both TCP and UDP are shown), columns as wide as their widest cell, addresses right-aligned up to
/// the colon and ports left-aligned after it, and with -i or -m a second line per socket, indented
/// by a tab, in ss's words (<c>skmem:(...)</c>, <c>ts sack cubic wscale:7,7 rto:204 rtt:0.05/0.025 ...</c>).
/// </summary>
public static class SsLayout
{
    /// <summary>The lines to print for <paramref name="rows"/>.</summary>
    public static IReadOnlyList<string> Format(IReadOnlyList<SocketEntry> rows, SsOptions options)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(options);
        bool netid = options.ShowsTcp && options.ShowsUdp;
        var cells = rows.Select(r => new[]
        {
            r.Netid, r.State, Number(r.ReceiveQueue), Number(r.SendQueue),
            Address(r.Local.Address, r.DualStack), Port(r.Local.Port, r.Netid, options.Numeric),
            r.Peer is { } peer ? Address(peer.Address, false) : Address(r.Local.Address.IsV6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4, r.DualStack), r.Peer is { } p ? Port(p.Port, r.Netid, options.Numeric) : "*",
        }).ToList();
        string[] header = ["Netid", "State", "Recv-Q", "Send-Q", "Local Address", "Port", "Peer Address", "Port"];
        int[] width = header.Select((h, i) => cells.Select(c => c[i].Length).Append(h.Length).Max()).ToArray();
        var lines = new List<string> { Line(header, width, netid) + " Process" };
        for (int i = 0; i < rows.Count; i++)
        {
            lines.Add((Line(cells[i], width, netid) + Trailer(rows[i], options)).TrimEnd());
            if (Details(rows[i], options) is { Length: > 0 } details)
            {
                lines.Add("\t " + details);
            }
        }

        return lines;
    }

    // Netid State Recv-Q Send-Q Local:Port Peer:Port, each padded to its column.
    private static string Line(string[] cells, int[] width, bool netid)
    {
        var line = new StringBuilder();
        if (netid)
        {
            line.Append(cells[0].PadRight(width[0])).Append(' ');
        }

        line.Append(cells[1].PadRight(width[1])).Append(' ')
            .Append(cells[2].PadRight(width[2])).Append(' ')
            .Append(cells[3].PadRight(width[3])).Append(' ')
            .Append(cells[4].PadLeft(width[4])).Append(':').Append(cells[5].PadRight(width[5])).Append(' ')
            .Append(cells[6].PadLeft(width[6])).Append(':').Append(cells[7].PadRight(width[7]));
        return line.ToString();
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    // ss: 0.0.0.0, [::] for an IPv6-only wildcard, * for a dual-stack one, [2001:db8::1] for IPv6.
    private static string Address(InternetAddress address, bool dualStack)
        => address.IsUnspecified && dualStack ? "*" : address.IsV6 ? $"[{address}]" : address.ToString();

    private static string Port(ushort port, string netid, bool numeric)
        => numeric ? port.ToString(CultureInfo.InvariantCulture) : ServiceNames.Name(port, netid);

    // After the peer, in ss's order: the process (-p), the timer (-o), the extended words (-e).
    private static string Trailer(SocketEntry row, SsOptions options)
    {
        var words = new StringBuilder();
        if (options.Processes)
        {
            words.Append(CultureInfo.InvariantCulture, $" users:((\"tunstack\",pid={Environment.ProcessId}))");
        }

        if (options.Timers && row.Timer is { } timer)
        {
            words.Append(' ').Append(timer);
        }

        if (options.Extended && row.Extended is { } extended)
        {
            words.Append(' ').Append(extended);
        }

        return words.ToString();
    }

    // The second line: skmem for -m, then tcp_info for -i.
    private static string Details(SocketEntry row, SsOptions options)
    {
        var words = new List<string>();
        if (options.Memory && row.Memory is { } memory)
        {
            words.Add(memory.ToString());
        }

        if (options.Info && row.Tcp is { } tcp)
        {
            words.AddRange(TcpWords(tcp));
        }

        return string.Join(' ', words);
    }

    /// <summary>
    /// tcp_info in ss's words and order: ts sack ecn cubic wscale:S,R rto rtt:SRTT/RTTVAR mss cwnd
    /// ssthresh (only after a loss, as ss) bytes_sent bytes_retrans bytes_acked bytes_received
    /// send RATE delivery_rate RATE unacked retrans lost sacked minrtt; a TIME-WAIT record: timer:(timewait,LEFT,0).
    /// retrans is the total (ss shows now/total; the stack counts the total only).
    /// </summary>
    public static IEnumerable<string> TcpWords(TcpDetails tcp)
    {
        ArgumentNullException.ThrowIfNull(tcp);
        if (tcp.Info is not { } info)
        {
            if (tcp.TimeWaitLeft is { } left)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"timer:(timewait,{Duration(left)},0)");
            }

            yield break;
        }

        if (tcp.Timestamps)
        {
            yield return "ts";
        }

        if (tcp.Sack)
        {
            yield return "sack";
        }

        if (info.EcnNegotiated)
        {
            yield return "ecn";
        }

        yield return !string.IsNullOrEmpty(info.AlgorithmName) ? info.AlgorithmName : info.Algorithm == CongestionAlgorithm.NewReno ? "reno" : info.Algorithm.ToString().ToLowerInvariant();
        if (tcp.SendWindowScale >= 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"wscale:{tcp.SendWindowScale},{tcp.ReceiveWindowScale}");
        }

        int mss = Math.Max(1, info.Mss);
        yield return string.Create(CultureInfo.InvariantCulture, $"rto:{info.RetransmissionTimeout.TotalMilliseconds:0}");
        yield return string.Create(CultureInfo.InvariantCulture, $"rtt:{Milliseconds(info.SmoothedRtt)}/{Milliseconds(info.RttVariance)}");
        yield return string.Create(CultureInfo.InvariantCulture, $"mss:{info.Mss}");
        yield return string.Create(CultureInfo.InvariantCulture, $"cwnd:{info.CongestionWindow / mss}");
        if (info.SlowStartThreshold < int.MaxValue / 2)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"ssthresh:{info.SlowStartThreshold / mss}");
        }

        yield return string.Create(CultureInfo.InvariantCulture, $"bytes_sent:{info.BytesSent}");
        if (info.BytesRetransmitted > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"bytes_retrans:{info.BytesRetransmitted}");
        }

        yield return string.Create(CultureInfo.InvariantCulture, $"bytes_acked:{info.BytesAcked}");
        yield return string.Create(CultureInfo.InvariantCulture, $"bytes_received:{info.BytesReceived}");
        if (info.Bbr is { } bbr)
        {
            // iproute2's bbr:(bw:...,mrtt:...,pacing_gain:...,cwnd_gain:...) from TCP_CC_INFO.
            yield return string.Create(CultureInfo.InvariantCulture, $"bbr:(bw:{Rate(bbr.BottleneckBandwidthBytesPerSecond * 8)},mrtt:{Milliseconds(bbr.MinRtt)},pacing_gain:{bbr.PacingGain:0.##},cwnd_gain:{bbr.CwndGain:0.##})");
        }

        if (info.SmoothedRtt > TimeSpan.Zero)
        {
            yield return $"send {Rate(info.CongestionWindow * 8.0 / info.SmoothedRtt.TotalSeconds)}";
        }

        if (info.PacingRateBytesPerSecond > 0)
        {
            yield return $"pacing_rate {Rate(info.PacingRateBytesPerSecond * 8)}";
        }

        if (info.DeliveryRateBytesPerSecond > 0)
        {
            yield return $"delivery_rate {Rate(info.DeliveryRateBytesPerSecond * 8)}";
        }

        // ss: busy, then the parts of it the peer's window and the send buffer limited, with their shares.
        if (info.BusyTime > TimeSpan.Zero)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"busy:{(long)info.BusyTime.TotalMilliseconds}ms");
            if (info.ReceiveWindowLimitedTime > TimeSpan.Zero)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"rwnd_limited:{(long)info.ReceiveWindowLimitedTime.TotalMilliseconds}ms({100.0 * info.ReceiveWindowLimitedTime.Ticks / info.BusyTime.Ticks:0.0}%)");
            }

            if (info.SendBufferLimitedTime > TimeSpan.Zero)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"sndbuf_limited:{(long)info.SendBufferLimitedTime.TotalMilliseconds}ms({100.0 * info.SendBufferLimitedTime.Ticks / info.BusyTime.Ticks:0.0}%)");
            }
        }

        if (info.BytesInFlight > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"unacked:{(info.BytesInFlight + mss - 1) / mss}");
        }

        if (info.Retransmits > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"retrans:{info.Retransmits}");
        }

        // ss's lost is tcpi_lost: segments deemed lost now (Linux's lost_out), not a total.
        if (info.LostSegmentsOutstanding > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"lost:{info.LostSegmentsOutstanding}");
        }

        if (info.SackedBytes > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"sacked:{(info.SackedBytes + mss - 1) / mss}");
        }

        if (info.Reordering > 3)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"reordering:{info.Reordering}"); // ss shows it when above the default 3
        }

        if (info.MinRtt != TimeSpan.MaxValue && info.MinRtt > TimeSpan.Zero)
        {
            yield return $"minrtt:{Milliseconds(info.MinRtt)}";
        }
    }

    // ss prints times in ms with %g: 0.05, 12.5, 204.
    private static string Milliseconds(TimeSpan time) => time.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture);

    // ss prints rates as whole bits per second: 18841600000bps.
    private static string Rate(double bitsPerSecond) => ((long)bitsPerSecond).ToString(CultureInfo.InvariantCulture) + "bps";

    /// <summary>ss's timer durations: 59sec, 1min2sec, 250ms.</summary>
    public static string Duration(TimeSpan time)
        => time.TotalSeconds >= 60 ? $"{(int)time.TotalMinutes}min{time.Seconds}sec" : time.TotalSeconds >= 1 ? $"{(int)time.TotalSeconds}sec" : $"{(int)time.TotalMilliseconds}ms";
}
