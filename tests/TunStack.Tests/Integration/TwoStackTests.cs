using System.Net.Sockets;
using System.Security.Cryptography;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Udp;

namespace TunStack.Tests.Integration;

public class TwoStackTests
{
    public static IEnumerable<object[]> Families => new[] { new object[] { false }, new object[] { true } };

    [Theory]
    [MemberData(nameof(Families))]
    public void Ping_AToB_RepliesForEverySequence(bool v6)
    {
        var net = new TwoStacks();
        IcmpEchoEndpoint ping = net.A.OpenEcho(0x5151)!;
        InternetAddress target = v6 ? TwoStacks.B6 : TwoStacks.B4;
        for (ushort seq = 1; seq <= 5; seq++)
        {
            Assert.Equal(StackError.None, ping.SendRequest(target, seq, "tunstack ping"u8));
        }

        Assert.True(net.Simulation.RunUntil(() => ping.PendingReplies == 5, TimeSpan.FromSeconds(1)));
        var buffer = new byte[64];
        for (ushort seq = 1; seq <= 5; seq++)
        {
            Assert.True(ping.TryReceiveReply(buffer, out InternetAddress from, out ushort got, out int length));
            Assert.Equal(target, from);
            Assert.Equal(seq, got);
            Assert.Equal("tunstack ping"u8.ToArray(), buffer[..length]);
        }
    }

    [Theory]
    [InlineData(false, 100)]
    [InlineData(true, 100)]
    [InlineData(false, 8000)]
    [InlineData(true, 8000)]
    [InlineData(false, 65507)]
    [InlineData(true, 65527)]
    public void UdpEcho_AnySize_BytesIdentical(bool v6, int size)
    {
        var net = new TwoStacks();
        net.StartEchoOnB(7);
        UdpEndpoint client = net.A.OpenUdp(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        var payload = new byte[size];
        new Random(size).NextBytes(payload);
        Assert.Equal(StackError.None, client.SendTo(payload, new InternetEndpoint(v6 ? TwoStacks.B6 : TwoStacks.B4, 7)));
        Assert.True(net.Simulation.RunUntil(() => client.QueuedDatagrams == 1, TimeSpan.FromSeconds(1)));
        var buffer = new byte[70000];
        Assert.True(client.TryReceiveFrom(buffer, out int n, out _, out InternetEndpoint from));
        Assert.Equal(payload, buffer[..n]);
        Assert.Equal(7, from.Port);
        if (size > 1500)
        {
            Assert.True(net.A.Counters[v6 ? Counter.Ipv6FragmentsCreated : Counter.Ipv4FragmentsCreated] > 1);
            Assert.Equal(1, net.B.Counters[v6 ? Counter.Ipv6Reassembled : Counter.Ipv4Reassembled]);
        }
    }

    [Fact]
    public void DelayedLinksBothWays_PingRtt_IsTwiceTheDelay()
    {
        // Regression: the simulation must notice packets a link releases late in a round.
        var delay = new Impairment { Delay = TimeSpan.FromMilliseconds(7) };
        var net = new TwoStacks(wrapA: link => new ImpairedLink(link, Impairment.None, delay, 1), wrapB: link => new ImpairedLink(link, Impairment.None, delay, 2));
        foreach ((NetworkStack from, InternetAddress to) in new[] { (net.A, TwoStacks.B4), (net.B, TwoStacks.A6) })
        {
            IcmpEchoEndpoint ping = from.OpenEcho(9)!;
            for (ushort seq = 1; seq <= 3; seq++)
            {
                Instant sent = net.Simulation.Clock.Now;
                ping.SendRequest(to, seq, "x"u8);
                Assert.True(net.Simulation.RunUntil(() => ping.PendingReplies > 0, TimeSpan.FromSeconds(1)));
                Assert.Equal(TimeSpan.FromMilliseconds(14), net.Simulation.Clock.Now - sent);
                Assert.True(ping.TryReceiveReply(new byte[8], out _, out ushort got, out _));
                Assert.Equal(seq, got);
            }
        }
    }

    [Fact]
    public void UdpToClosedPort_ConnectedClient_SeesConnectionRefused()
    {
        var net = new TwoStacks();
        UdpEndpoint client = net.A.OpenUdp();
        Assert.Equal(StackError.None, client.Connect(new InternetEndpoint(TwoStacks.B4, 9999)));
        Assert.Equal(StackError.None, client.SendTo("anyone?"u8));
        Assert.True(net.Simulation.RunUntil(() => client.HasPendingError, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.ConnectionRefused, client.TakePendingError());
        Assert.Equal(1, net.B.Counters[Counter.UdpNoPort]);
        Assert.Equal(1, net.A.Counters[Counter.UdpIcmpErrors]);
    }

    [Fact]
    public void UdpToClosedPortV6_ConnectedClient_SeesConnectionRefused()
    {
        var net = new TwoStacks();
        UdpEndpoint client = net.A.OpenUdp(AddressFamily.InterNetworkV6);
        Assert.Equal(StackError.None, client.Connect(new InternetEndpoint(TwoStacks.B6, 9999)));
        client.SendTo("anyone?"u8);
        Assert.True(net.Simulation.RunUntil(() => client.HasPendingError, TimeSpan.FromSeconds(1)));
        Assert.Equal(StackError.ConnectionRefused, client.TakePendingError());
    }

    [Fact]
    public void SendToOwnAddress_LoopsBack()
    {
        var net = new TwoStacks();
        UdpEndpoint server = net.A.OpenUdp();
        server.Bind(new InternetEndpoint(TwoStacks.A4, 5000));
        UdpEndpoint client = net.A.OpenUdp();
        client.SendTo("self"u8, new InternetEndpoint(TwoStacks.A4, 5000));
        Assert.True(net.Simulation.RunUntil(() => server.QueuedDatagrams == 1, TimeSpan.FromSeconds(1)));
        Assert.Equal(0, net.B.Counters[Counter.LinkReceived]);
    }

    [Fact]
    public void ImpairedLink_DuplicationReorderDelay_EveryDatagramDeliveredByteExact()
    {
        ImpairedLink? impaired = null;
        var profile = new Impairment { DuplicatePercent = 10, ReorderPercent = 20, Delay = TimeSpan.FromMilliseconds(10), Jitter = TimeSpan.FromMilliseconds(3) };
        var net = new TwoStacks(wrapA: link => impaired = new ImpairedLink(link, profile, profile, seed: 7), configure: o => o.UdpReceiveQueueBytes = 4 << 20);
        UdpEndpoint server = net.B.OpenUdp();
        server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 6000));
        UdpEndpoint client = net.A.OpenUdp();
        var sent = new HashSet<string>();
        for (int i = 0; i < 200; i++)
        {
            var payload = new byte[1 + i * 37 % 6000];
            new Random(i).NextBytes(payload);
            payload[0] = (byte)i;
            sent.Add(Convert.ToHexString(SHA256.HashData(payload)));
            Assert.Equal(StackError.None, client.SendTo(payload, new InternetEndpoint(TwoStacks.B4, 6000)));
            net.Simulation.RunFor(TimeSpan.FromMilliseconds(1));
        }

        net.Simulation.RunFor(TimeSpan.FromSeconds(1));
        var received = new HashSet<string>();
        var buffer = new byte[70000];
        while (server.TryReceiveFrom(buffer, out int n, out _, out _))
        {
            received.Add(Convert.ToHexString(SHA256.HashData(buffer.AsSpan(0, n))));
        }

        Assert.Equal(sent, received);
        Assert.True(impaired!.EgressStatistics.Duplicated > 0);
        Assert.True(impaired.EgressStatistics.Reordered > 0);
        Assert.True(net.B.Counters[Counter.ReassemblyDuplicate] + net.B.Counters[Counter.UdpDelivered] > 200);
    }

    [Fact]
    public void ImpairedLink_Loss_SomeLostNoneCorruptedAndCountersAgree()
    {
        ImpairedLink? impaired = null;
        var profile = new Impairment { LossPercent = 10 };
        var net = new TwoStacks(wrapA: link => impaired = new ImpairedLink(link, Impairment.None, profile, seed: 3));
        UdpEndpoint server = net.B.OpenUdp();
        server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 6001));
        UdpEndpoint client = net.A.OpenUdp();
        for (int i = 0; i < 500; i++)
        {
            client.SendTo(BitConverter.GetBytes(i), new InternetEndpoint(TwoStacks.B4, 6001));
        }

        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
        long lost = impaired!.EgressStatistics.Lost;
        Assert.InRange(lost, 25, 80);
        Assert.Equal(500 - lost, server.QueuedDatagrams);
    }

    [Fact]
    public void ImpairedLink_Corruption_DroppedByChecksums()
    {
        ImpairedLink? impaired = null;
        var profile = new Impairment { CorruptPercent = 20 };
        var net = new TwoStacks(wrapA: link => impaired = new ImpairedLink(link, Impairment.None, profile, seed: 9));
        UdpEndpoint server = net.B.OpenUdp();
        server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 6002));
        UdpEndpoint client = net.A.OpenUdp();
        var payload = new byte[200];
        new Random(1).NextBytes(payload);
        for (int i = 0; i < 300; i++)
        {
            client.SendTo(payload, new InternetEndpoint(TwoStacks.B4, 6002));
        }

        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
        long corrupted = impaired!.EgressStatistics.Corrupted;
        Assert.True(corrupted > 20);
        var buffer = new byte[300];
        while (server.TryReceiveFrom(buffer, out int n, out _, out _))
        {
            Assert.Equal(payload, buffer[..n]);
        }
    }

    [Fact]
    public void ImpairedLink_SameSeed_SameOutcome()
    {
        static long Run()
        {
            ImpairedLink? impaired = null;
            var profile = new Impairment { LossPercent = 30, DuplicatePercent = 5, Jitter = TimeSpan.FromMilliseconds(5) };
            var net = new TwoStacks(wrapA: link => impaired = new ImpairedLink(link, profile, profile, seed: 1234));
            UdpEndpoint server = net.B.OpenUdp();
            server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 6003));
            UdpEndpoint client = net.A.OpenUdp();
            for (int i = 0; i < 300; i++)
            {
                client.SendTo(BitConverter.GetBytes(i), new InternetEndpoint(TwoStacks.B4, 6003));
            }

            net.Simulation.RunFor(TimeSpan.FromMilliseconds(200));
            return server.QueuedDatagrams * 1000 + impaired!.EgressStatistics.Lost;
        }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void ImpairedLink_RateLimit_SpreadsDelivery()
    {
        var profile = new Impairment { RateBitsPerSecond = 8_000_000 }; // 1 MB/s
        var net = new TwoStacks(wrapA: link => new ImpairedLink(link, Impairment.None, profile, seed: 1));
        UdpEndpoint server = net.B.OpenUdp();
        server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 6004));
        UdpEndpoint client = net.A.OpenUdp();
        for (int i = 0; i < 100; i++)
        {
            client.SendTo(new byte[972], new InternetEndpoint(TwoStacks.B4, 6004)); // 1000-byte packets
        }

        // 100 KB at 1 MB/s takes 100 ms of virtual time.
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(50));
        Assert.InRange(server.QueuedDatagrams, 40, 60);
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(60));
        Assert.Equal(100, server.QueuedDatagrams);
    }

    [Theory]
    [InlineData("loss=1%,delay=10ms,jitter=2ms,reorder=5%,dup=1%,corrupt=0.1%,rate=100mbit,seed=42", true)]
    [InlineData("loss=abc", false)]
    [InlineData("speed=1", false)]
    [InlineData("loss=150%", false)]
    public void ImpairmentText_Parse(string text, bool ok)
    {
        Assert.Equal(ok, Impairment.TryParse(text, out Impairment i, out int? seed, out string? error));
        if (ok)
        {
            Assert.Equal(1, i.LossPercent);
            Assert.Equal(TimeSpan.FromMilliseconds(10), i.Delay);
            Assert.Equal(100_000_000, i.RateBitsPerSecond);
            Assert.Equal(42, seed);
        }
        else
        {
            Assert.False(string.IsNullOrEmpty(error));
        }
    }

    [Theory]
    [InlineData("loss=1%,delay=10ms,jitter=2ms,reorder=5%,dup=1%,corrupt=0.1%,rate=100mbit")]
    [InlineData("delay=0.5ms,rate=1500kbit")]
    [InlineData("none")]
    public void ImpairmentText_ToString_TheTextItWasParsedFrom(string text)
    {
        Assert.True(Impairment.TryParse(text == "none" ? string.Empty : text, out Impairment i, out _, out _));
        Assert.Equal(text, i.ToString());
        Assert.True(Impairment.TryParse(i.ToString() == "none" ? string.Empty : i.ToString(), out Impairment again, out _, out _));
        Assert.Equal(i, again);
    }

    [Fact]
    public void ImpairedLink_Change_LossStartsAndStopsWhileRunning()
    {
        ImpairedLink? impaired = null;
        var net = new TwoStacks(wrapA: link => impaired = new ImpairedLink(link, Impairment.None, Impairment.None, seed: 3));
        UdpEndpoint server = net.B.OpenUdp();
        server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 6000));
        UdpEndpoint client = net.A.OpenUdp();
        void SendTen()
        {
            for (int i = 0; i < 10; i++)
            {
                client.SendTo("x"u8, new InternetEndpoint(TwoStacks.B4, 6000));
            }

            net.Simulation.RunFor(TimeSpan.FromMilliseconds(10));
        }

        SendTen();
        Assert.Equal((10, 0L), (server.QueuedDatagrams, impaired!.EgressStatistics.Offered));   // no impairment: straight through
        impaired.Change(Impairment.None, new Impairment { LossPercent = 100 });
        SendTen();
        Assert.Equal((10, 10L), (server.QueuedDatagrams, impaired.EgressStatistics.Lost));
        impaired.Change(Impairment.None, new Impairment { Delay = TimeSpan.FromMilliseconds(50) });
        SendTen();
        Assert.Equal(10, server.QueuedDatagrams);
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(20, server.QueuedDatagrams);
    }

    [Fact]
    public void MemoryLink_QueueFull_DropsAndCounts()
    {
        (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair(1500, queueCapacity: 4);
        var batch = new TunStack.Storage.PacketBatch(10, 1500);
        for (int i = 0; i < 10; i++)
        {
            batch.TryAdd(new byte[100]);
        }

        a.Transmit(batch, Instant.Zero);
        Assert.Equal(6, a.Dropped);
        Assert.Equal(4, b.Pending);
    }
}
