using System.Net;
using TunStack.Cli;

namespace TunStack.Tests.Cli;

/// <summary>
/// <c>tunstack forward</c>'s arguments, checked before anything is set up (one line naming the
/// option, exit code 2), and its destination map (what the namespace may reach, and where).
/// </summary>
public class ForwardCommandTests
{
    [Theory]
    [InlineData(new string[0], "--netns is required")]
    [InlineData(new[] { "--netns", "a/b" }, "'a/b' is not a valid namespace name")]
    [InlineData(new[] { "--netns", "app", "--address", "10.0.2.100" }, "--address: '10.0.2.100'")]
    [InlineData(new[] { "--netns", "app", "--address", "fd00::100/64" }, "--address: 'fd00::100/64'")]
    [InlineData(new[] { "--netns", "app", "--gateway", "10.9.9.9" }, "--gateway: 10.9.9.9 is outside 10.0.2.0/24")]
    [InlineData(new[] { "--netns", "app", "--dns", "nonsense" }, "--dns: 'nonsense' is not an IPv4 address")]
    [InlineData(new[] { "--netns", "app", "--dns", "10.0.2.2" }, "must be three different addresses")]
    [InlineData(new[] { "--netns", "app", "--dns-upstream", "x" }, "--dns-upstream: 'x'")]
    [InlineData(new[] { "--netns", "app", "--mtu", "99" }, "mtu must be between 1280 and 65535")]
    [InlineData(new[] { "--netns", "app", "--offload", "maybe" }, "must be auto, on or off")]
    [InlineData(new[] { "--netns", "app", "--busy-poll", "forever" }, "--busy-poll must be off or a duration of at most 1ms such as 50us, not 'forever'")]
    [InlineData(new[] { "--netns", "app", "--max-flows", "0" }, "--max-flows must be between 1 and 1000000")]
    [InlineData(new[] { "--netns", "app", "--bogus" }, "--bogus")]
    [InlineData(new[] { "--netns", "app", "--publish", "8080" }, "--publish: '8080' is not HOSTPORT:PORT")]
    [InlineData(new[] { "--netns", "app", "--publish", "70000:80" }, "--publish: '70000:80'")]
    [InlineData(new[] { "--netns", "app", "--publish", "8080:80/sctp" }, "--publish: '8080:80/sctp'")]
    [InlineData(new[] { "--netns", "app", "--upstream", "http://127.0.0.1:1080" }, "--upstream: 'http://127.0.0.1:1080' is not socks5://ADDRESS:PORT")]
    [InlineData(new[] { "--netns", "app", "--upstream", "socks5://proxy.example:1080" }, "--upstream: 'socks5://proxy.example:1080'")]
    public void Forward_BadArgument_OneLineNamingItAndExitCode2(string[] args, string expected)
    {
        InProcessCli.AssertRefused(new[] { "forward" }.Concat(args).ToArray(), expected);
    }

    [Theory]
    [InlineData("10.0.2.2:8080", false, null)]
    [InlineData("10.0.2.2:8080", true, "127.0.0.1:8080")]
    [InlineData("10.0.2.3:53", false, "192.0.2.53:53")]
    [InlineData("10.0.2.3:80", false, null)]
    [InlineData("127.0.0.1:22", true, null)]
    [InlineData("169.254.169.254:80", true, null)]
    [InlineData("224.0.0.251:5353", true, null)]
    [InlineData("198.51.100.7:443", false, "198.51.100.7:443")]
    [InlineData("[fd00::2]:8080", true, "[::1]:8080")]
    [InlineData("[fd00::3]:53", false, "192.0.2.53:53")]
    [InlineData("[fe80::1]:80", true, null)]
    [InlineData("[2001:db8::7]:443", false, "[2001:db8::7]:443")]
    public void DestinationMap_Destination_MappedOrRefused(string destination, bool allowHostLoopback, string? expected)
    {
        var map = new DestinationMap(
            new[] { IPAddress.Parse("10.0.2.2"), IPAddress.Parse("fd00::2") }, new[] { IPAddress.Parse("10.0.2.3"), IPAddress.Parse("fd00::3") }, IPAddress.Parse("192.0.2.53"), allowHostLoopback);
        IPEndPoint? target = map.Map(IPEndPoint.Parse(destination), out string? refusal);
        Assert.Equal(expected, target?.ToString());
        Assert.Equal(expected is null, refusal is not null);
    }

    [Fact]
    public void ResolverFrom_ResolvConf_FirstNameserverWithoutScope()
    {
        Assert.Equal(IPAddress.Parse("fe80::1"), DestinationMap.ResolverFrom("# comment\nsearch example\nnameserver fe80::1%eth0\nnameserver 192.0.2.1\n"));
        Assert.Null(DestinationMap.ResolverFrom("search example\n"));
    }
}
