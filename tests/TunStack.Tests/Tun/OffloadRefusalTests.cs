// What happens when the kernel refuses TUNSETOFFLOAD (an older kernel, or a tun driver without the
// offloads), simulated by asking for a flag no kernel knows: auto carries plain packets and says
// why, on refuses to open and names the reason. Inside a namespace the test creates.
using TunStack.Links;
using TunStack.Tun;

namespace TunStack.Tests.Tun;

public class OffloadRefusalTests
{
    private const uint UnknownFlag = 0x4000_0000;

    [SkippableFact]
    public void OffloadAuto_KernelRefuses_PlainPacketsAndTheLogSaysWhy()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        var log = new List<string>();
        var options = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "offl0", Offload = TunOffload.Auto, OffloadFlags = UnknownFlag },
            Namespace = ns.Name,
        };
        using TunInterface tun = TunInterface.Open(options, log.Add);
        Assert.Equal(LinkOffloads.None, tun.Device.Offloads);
        Assert.Equal(tun.Device.Mtu, tun.Device.MaxPacketLength);
        Assert.Contains("refused TUNSETOFFLOAD", tun.Device.OffloadFallback, StringComparison.Ordinal);
        Assert.Contains(log, l => l.StartsWith("offloads off on offl0: the kernel refused TUNSETOFFLOAD", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void OffloadOn_KernelRefuses_OpenFailsNamingWhy()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        var options = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "offl1", Offload = TunOffload.On, OffloadFlags = UnknownFlag },
            Namespace = ns.Name,
        };
        TunException e = Assert.Throws<TunException>(() => TunInterface.Open(options));
        Assert.Contains("offloads requested (--offload on) but the kernel refused TUNSETOFFLOAD", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("offl1", ns.Exec("ip", "link").Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void OffloadAuto_KernelAccepts_EveryOffloadOnAndSuperSegmentSlots()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        using TunInterface tun = TunInterface.Open(new TunInterfaceOptions { Device = new TunOptions { Name = "offl2" }, Namespace = ns.Name });
        Assert.Equal(LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6, tun.Device.Offloads);
        Assert.Equal(PacketOffload.MaxSuperSegmentLength, tun.Device.MaxPacketLength);
        Assert.Null(tun.Device.OffloadFallback);
    }
}
