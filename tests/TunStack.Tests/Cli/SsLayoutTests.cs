using TunStack.Cli;
using TunStack.Tcp;

namespace TunStack.Tests.Cli;

/// <summary><c>tunstack ss -i</c>'s words for a connection, in the order iproute2's ss prints them.</summary>
public class SsLayoutTests
{
    private static readonly TcpConnectionInfo Info = default(TcpConnectionInfo) with { Algorithm = CongestionAlgorithm.Cubic, Mss = 1448, CongestionWindow = 14480, SlowStartThreshold = int.MaxValue / 2 };

    [Fact]
    public void EcnNegotiated_TcpWords_EcnAfterSackBeforeTheAlgorithm()
    {
        string line = string.Join(' ', SsLayout.TcpWords(new TcpDetails(Info with { EcnNegotiated = true }, true, true, 7, 7, null)));
        Assert.StartsWith("ts sack ecn cubic wscale:7,7 ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void EcnNotNegotiated_TcpWords_NoEcnWord()
    {
        IEnumerable<string> words = SsLayout.TcpWords(new TcpDetails(Info, true, true, 7, 7, null));
        Assert.DoesNotContain("ecn", words);
    }

    [Fact]
    public void BbrConnection_TcpWords_BbrModelAfterTheByteCountsBeforeSend()
    {
        TcpConnectionInfo bbr = Info with
        {
            AlgorithmName = "bbr",
            SmoothedRtt = TimeSpan.FromMilliseconds(21),
            BytesAcked = 1000,
            BytesReceived = 10,
            Bbr = new BbrInfo(2_500_000, TimeSpan.FromMilliseconds(20.5), 1.25, 2),
        };
        string line = string.Join(' ', SsLayout.TcpWords(new TcpDetails(bbr, true, true, 7, 7, null)));
        Assert.Contains("bytes_received:10 bbr:(bw:20000000bps,mrtt:20.5,pacing_gain:1.25,cwnd_gain:2) send ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void CubicConnection_TcpWords_NoBbrModel()
    {
        Assert.DoesNotContain(SsLayout.TcpWords(new TcpDetails(Info, true, true, 7, 7, null)), w => w.StartsWith("bbr:", StringComparison.Ordinal));
    }
}
