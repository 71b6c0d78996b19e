using System.Xml.Linq;
using TunStack.Perf;

namespace TunStack.Tests.Lab;

public class LossyPathGoodputFigureTests
{
    [Fact]
    public void Figure_SawtoothTraceWithInfiniteSsthreshFirst_TwoPanelSvgWithEveryLegendAndAxis()
    {
        var trace = new List<(double T, double Cwnd, double Rtt, double Ssthresh)>();
        double cwnd = 10, ssthresh = double.NaN;
        for (int i = 0; i < 3000; i++)
        {
            if (i % 500 == 499)
            {
                ssthresh = cwnd * 0.7;
                cwnd = ssthresh;
            }

            trace.Add((i * 0.01, cwnd, 20 + (cwnd % 5), ssthresh));
            cwnd += 0.1;
        }

        string svg = LossyPathGoodput.Figure(trace, "loss=1%,delay=10ms", 1).RenderSvg();
        XElement root = XDocument.Parse(svg).Root!;
        Assert.Equal(XName.Get("svg", "http://www.w3.org/2000/svg"), root.Name);
        Assert.Equal("900", root.Attribute("width")!.Value);
        Assert.Equal("660", root.Attribute("height")!.Value);
        var texts = root.Descendants(XName.Get("text", "http://www.w3.org/2000/svg")).Select(t => t.Value.Trim()).ToList();
        foreach (string expected in new[] { "TunStack CUBIC, loss=1%,delay=10ms each way, seed 1: cwnd and ssthresh", "cwnd", "ssthresh", "smoothed RTT", "segments", "ms", "time (s)" })
        {
            Assert.Contains(expected, texts);
        }
    }
}
