namespace TunStack.Tests.Tun;

/// <summary>
/// A namespace is removed only when a TunStack process made it and no other TunStack process uses
/// it; one made by another tool is never removed. The log says what was created, joined and removed.
/// </summary>
public class NamespaceOwnershipTests
{
    [SkippableFact]
    public void TwoDaemonsShareANamespace_CreatorStopsFirst_NamespaceStaysForTheOther()
    {
        TunRequirements.Require(("ping", "iputils-ping"));
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess creator = TunstackProcess.StartDaemon(reserved.Name);
        using TunstackProcess joiner = TunstackProcess.StartDaemon(reserved.Name, "--tun", "tstk1", "--address", "10.78.0.2/24");
        Assert.Contains($"created network namespace {reserved.Name}", creator.Output);
        Assert.Contains($"joined network namespace {reserved.Name} (made by tunstack PID {creator.Id}; in use by PID {creator.Id})", joiner.Output);

        Assert.Equal(0, creator.Terminate());
        Assert.Contains($"left network namespace {reserved.Name}: still used by tunstack PID {joiner.Id}", creator.Output);
        Assert.True(TestNamespace.Exists(reserved.Name), "the namespace went while another daemon used it");
        (int code, string output, _) = reserved.Exec("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.78.0.2");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("tunstack0", reserved.Links());

        Assert.Equal(0, joiner.Terminate());
        Assert.Contains("removed TUN device tstk1", joiner.Output);
        reserved.ExpectRemovedBy(joiner);
    }

    [SkippableFact]
    public void TwoDaemonsShareANamespace_JoinerStopsFirst_CreatorRemovesItLast()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess creator = TunstackProcess.StartDaemon(reserved.Name);
        using (TunstackProcess joiner = TunstackProcess.StartDaemon(reserved.Name, "--tun", "tstk1", "--address", "10.78.0.2/24"))
        {
            Assert.Equal(0, joiner.Terminate());
            Assert.Contains($"left network namespace {reserved.Name}: still used by tunstack PID {creator.Id}", joiner.Output);
        }

        Assert.True(TestNamespace.Exists(reserved.Name));
        reserved.StopAndExpectRemovedBy(creator);
    }

    [SkippableFact]
    public void NamespaceMadeByIpNetns_DaemonStops_NamespaceStaysAsFound()
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        using (TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name))
        {
            Assert.Contains($"joined network namespace {ns.Name} (made outside TunStack; it stays when TunStack leaves)", daemon.Output);
            Assert.Equal(0, daemon.Terminate());
            Assert.Contains($"left network namespace {ns.Name} as it was found (made outside TunStack)", daemon.Output);
        }

        Assert.True(TestNamespace.Exists(ns.Name));
        Assert.Equal(new[] { "lo" }, ns.Links());
    }

    [SkippableFact]
    public void DaemonSharesANamespaceWithTunstackPing_PingLeavesItToTheDaemon()
    {
        TunRequirements.Require();
        using TestNamespace reserved = TestNamespace.Reserve();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(reserved.Name);
        // ping joins with a device and prefix of its own, pings its kernel side, and leaves.
        (int code, string output, string errors) = TunstackProcess.Run(null, "ping", "10.79.0.1", "-c", "1", "--netns", reserved.Name, "--tun", "tstk1", "--address", "10.79.0.2/24");
        Assert.True(code == 0, output + errors);
        Assert.True(TestNamespace.Exists(reserved.Name));
        Assert.Equal(0, daemon.Terminate());
        Assert.False(TestNamespace.Exists(reserved.Name));
    }
}
