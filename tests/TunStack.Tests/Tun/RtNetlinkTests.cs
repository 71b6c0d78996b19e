using TunStack.Ip;
using TunStack.Tun;

namespace TunStack.Tests.Tun;

/// <summary>rtnetlink requests inside a namespace the test creates, judged by iproute2's view.</summary>
public class RtNetlinkTests
{
    [SkippableFact]
    public void AddressesRoutesLinkState_AddRemove_SeenByIpAndErrorsDecoded()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        var options = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "nltest0", Mtu = 1400 },
            Namespace = ns.Name,
            KernelAddresses = new[] { IpPrefix.Parse("10.91.0.1/24") },
        };
        using TunInterface tun = TunInterface.Open(options);
        Assert.Contains("mtu 1400", ns.Exec("ip", "link", "show", "nltest0").Output);

        NetworkNamespace netns = tun.Namespace!;
        string error = netns.Run(() =>
        {
            using RtNetlink netlink = RtNetlink.Open();
            int index = netlink.GetLinkIndex("nltest0");
            Assert.Equal(tun.Index, index);
            Assert.Equal(0, netlink.GetLinkIndex("no-such-link"));

            netlink.AddAddress(index, IpPrefix.Parse("10.92.0.1/32"), InternetAddress.Parse("10.92.0.2")); // point-to-point peer
            netlink.AddAddress(index, IpPrefix.Parse("fd92::1/64"));
            netlink.AddRoute(IpPrefix.Parse("192.0.2.0/24"), index);
            netlink.AddRoute(IpPrefix.Parse("198.51.100.0/24"), index, InternetAddress.Parse("10.91.0.2"));
            netlink.AddRoute(IpPrefix.Parse("2001:db8::/48"), index);
            try
            {
                netlink.AddAddress(index, IpPrefix.Parse("10.92.0.1/32"), InternetAddress.Parse("10.92.0.2"));
                return "no error";
            }
            catch (TunException e)
            {
                return e.Message;
            }
        });

        // Every refusal names the operation and decodes the errno.
        Assert.Contains("RTM_NEWADDR 10.92.0.1/32 peer 10.92.0.2", error);
        Assert.Contains("(EEXIST)", error);

        string addresses = ns.Exec("ip", "addr", "show", "dev", "nltest0").Output;
        Assert.Contains("inet 10.92.0.1 peer 10.92.0.2/32", addresses);
        Assert.Contains("inet6 fd92::1/64", addresses);
        string routes = ns.Exec("ip", "route", "show", "dev", "nltest0").Output;
        Assert.Contains("192.0.2.0/24", routes);
        Assert.Contains("198.51.100.0/24 via 10.91.0.2", routes);
        Assert.Contains("2001:db8::/48", ns.Exec("ip", "-6", "route", "show", "dev", "nltest0").Output);

        netns.Run(() =>
        {
            using RtNetlink netlink = RtNetlink.Open();
            netlink.RemoveRoute(IpPrefix.Parse("192.0.2.0/24"), tun.Index);
            netlink.RemoveRoute(IpPrefix.Parse("198.51.100.0/24"), tun.Index, InternetAddress.Parse("10.91.0.2"));
            netlink.RemoveAddress(tun.Index, IpPrefix.Parse("10.92.0.1/32"), InternetAddress.Parse("10.92.0.2"));
            netlink.RemoveAddress(tun.Index, IpPrefix.Parse("fd92::1/64"));
            netlink.SetLinkUp(tun.Index, false);
            return 0;
        });

        addresses = ns.Exec("ip", "addr", "show", "dev", "nltest0").Output;
        Assert.DoesNotContain("10.92.0.1", addresses);
        Assert.DoesNotContain("fd92::1", addresses);
        routes = ns.Exec("ip", "route", "show", "dev", "nltest0").Output;
        Assert.DoesNotContain("192.0.2.0/24", routes);
        Assert.DoesNotContain("198.51.100.0/24", routes);
        Assert.DoesNotContain(",UP", ns.Exec("ip", "link", "show", "nltest0").Output);
    }
}
