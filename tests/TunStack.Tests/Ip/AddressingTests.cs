using TunStack.Ip;

namespace TunStack.Tests.Ip;

public class AddressingTests
{
    [Fact]
    public void RouteTable_LongestPrefixMatch_DefaultLast()
    {
        var table = new RouteTable();
        table.Add(new Route(IpPrefix.Parse("0.0.0.0/0"), InternetAddress.Parse("10.0.0.1")));
        table.Add(new Route(IpPrefix.Parse("10.0.0.0/8")));
        table.Add(new Route(IpPrefix.Parse("10.1.0.0/16"), InternetAddress.Parse("10.0.0.254")));
        table.Add(new Route(IpPrefix.Parse("::/0")));
        table.Add(new Route(IpPrefix.Parse("fd00::/64")));

        Assert.Equal("10.1.0.0/16", table.Lookup(InternetAddress.Parse("10.1.2.3"))!.Destination.ToString());
        Assert.Equal("10.0.0.0/8", table.Lookup(InternetAddress.Parse("10.2.2.3"))!.Destination.ToString());
        Assert.Equal("0.0.0.0/0", table.Lookup(InternetAddress.Parse("8.8.8.8"))!.Destination.ToString());
        Assert.Equal("fd00::/64", table.Lookup(InternetAddress.Parse("fd00::9"))!.Destination.ToString());
        Assert.Equal("::/0", table.Lookup(InternetAddress.Parse("2001:db8::1"))!.Destination.ToString());
        Assert.True(table.Remove(IpPrefix.Parse("0.0.0.0/0")));
        Assert.Null(table.Lookup(InternetAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void RouteTable_SameDestinationTwice_Replaced()
    {
        var table = new RouteTable();
        table.Add(new Route(IpPrefix.Parse("10.0.0.0/8")));
        table.Add(new Route(IpPrefix.Parse("10.0.0.0/8"), InternetAddress.Parse("10.9.9.9")));
        Assert.Single(table.Routes);
        Assert.Equal(InternetAddress.Parse("10.9.9.9"), table.Routes[0].Gateway);
    }

    [Theory]
    [InlineData("10.0.0.2/24", "10.0.0.200", true)]
    [InlineData("10.0.0.2/24", "10.0.1.1", false)]
    [InlineData("10.0.0.2/0", "1.2.3.4", true)]
    [InlineData("10.0.0.2/32", "10.0.0.2", true)]
    [InlineData("fd00::2/64", "fd00::ffff:1", true)]
    [InlineData("fd00::2/64", "fd01::1", false)]
    [InlineData("fd00::2/127", "fd00::3", true)]
    [InlineData("fd00::2/127", "fd00::4", false)]
    [InlineData("fd00::2/64", "10.0.0.1", false)]
    public void Prefix_Contains(string prefix, string address, bool expected)
        => Assert.Equal(expected, IpPrefix.Parse(prefix).Contains(InternetAddress.Parse(address)));

    [Theory]
    [InlineData("10.0.0.2/33")]
    [InlineData("fd00::/129")]
    [InlineData("10.0.0/8")]
    [InlineData("")]
    [InlineData("10.0.0.1/-1")]
    [InlineData("10.1/8")]
    [InlineData("010.0.0.1/8")]
    [InlineData("0x0a.0.0.1/8")]
    public void Prefix_BadText_Refused(string text)
    {
        Assert.False(IpPrefix.TryParse(text, out _));
        Assert.Throws<FormatException>(() => IpPrefix.Parse(text));
    }

    [Fact]
    public void Address_Classification()
    {
        Assert.True(InternetAddress.Parse("224.0.0.1").IsMulticast);
        Assert.True(InternetAddress.Parse("ff02::1").IsMulticast);
        Assert.True(InternetAddress.Parse("127.1.2.3").IsLoopback);
        Assert.True(InternetAddress.Parse("::1").IsLoopback);
        Assert.True(InternetAddress.Parse("fe80::1").IsLinkLocalV6);
        Assert.True(InternetAddress.Parse("::ffff:10.0.0.1").IsV4Mapped);
        Assert.NotEqual(InternetAddress.Parse("10.0.0.1"), InternetAddress.Parse("::ffff:10.0.0.1"));
        Assert.Equal("10.0.0.255", IpPrefix.Parse("10.0.0.2/24").DirectedBroadcast.ToString());
        Assert.Equal(System.Net.IPAddress.Parse("fd00::5"), InternetAddress.Parse("fd00::5").ToIPAddress());
    }

    [Fact]
    public void SourceSelection_PrefersAddressOnTheNextHopsPrefix()
    {
        var probe = new Probe(o =>
        {
            o.Addresses.Add(IpPrefix.Parse("192.168.7.5/24"));
            o.Routes.Add(new Route(IpPrefix.Parse("10.0.0.0/24")));
            o.Routes.Add(new Route(IpPrefix.Parse("0.0.0.0/0"), InternetAddress.Parse("192.168.7.1")));
        });
        var e = probe.Stack.OpenUdp();
        e.SendTo("x"u8, new TunStack.Ip.InternetEndpoint(InternetAddress.Parse("8.8.8.8"), 53));
        e.SendTo("y"u8, new TunStack.Ip.InternetEndpoint(InternetAddress.Parse("10.0.0.1"), 53));
        List<byte[]> sent = probe.Poll();
        Assert.Equal("192.168.7.5", InternetAddress.FromV4(sent[0].AsSpan(12)).ToString());
        Assert.Equal("10.0.0.2", InternetAddress.FromV4(sent[1].AsSpan(12)).ToString());
    }
}
