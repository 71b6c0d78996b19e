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
}
