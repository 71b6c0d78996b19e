using System.Net.Sockets;
using System.Text;
using TunStack.Cli;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Tests.Sockets;

namespace TunStack.Tests.Cli;

/// <summary>
/// The daemon's control socket in this process: a <see cref="ControlServer"/> over a stack on a
/// MemoryLink (no TUN), with its socket in a temporary directory, asked through the same client the
/// ss, stats and status commands use. The TUN daemon's own tests are in Tun/ControlSocketDaemonTests.
/// </summary>
public sealed class ControlSocketTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tunstack-control-").FullName;
    private readonly SocketHost _stack = new(StackClock.Real);
    private readonly ConsoleLog _log = new(TextWriter.Null, LogLevel.Debug);
    private readonly List<StackSocket> _accepted = new();

    public void Dispose()
    {
        _accepted.ForEach(s => s.Dispose());
        _stack.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void ListenerConnectionAndUdp_SsAllNumeric_RowsInSsLayoutWithQueues()
    {
        (StackSocket client, _) = Connected(7000);
        client.Send(new byte[100]);
        _stack.BoundUdp(5353);
        using ControlServer control = Start("a");

        string[] lines = AskUntil(control.Path, "ss -t -u -a -n", l => l.Any(x => x.StartsWith("tcp   ESTAB  100", StringComparison.Ordinal)));

        Assert.Equal("Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port  Process", lines[0]);
        Assert.Equal("udp   UNCONN 0      0           10.9.0.1:5353       0.0.0.0:*", lines[1]);
        Assert.Equal("tcp   LISTEN 0      16          10.9.0.1:7000       0.0.0.0:*", lines[2]);
        Assert.Contains(lines, l => l.StartsWith("tcp   ESTAB  0      0           10.9.0.1:", StringComparison.Ordinal) && l.EndsWith("10.9.0.1:7000", StringComparison.Ordinal));
        Assert.Contains("tcp   ESTAB  100    0           10.9.0.1:7000      10.9.0.1:", lines.Single(l => l.Contains("ESTAB  100", StringComparison.Ordinal)));
        Assert.Equal(5, lines.Length);
    }

    [Fact]
    public void EstablishedConnection_SsTcpInfoAndMemory_SecondLineInSsWords()
    {
        (StackSocket client, StackSocket server) = Connected(7001);
        client.Send(new byte[3000]);
        byte[] buffer = new byte[3000];
        for (int read = 0; read < 3000;)
        {
            read += server.Receive(buffer.AsSpan(read));
        }

        using ControlServer control = Start("a");
        string[] lines = AskUntil(control.Path, "ss -tim", l => l.Any(x => x.Contains("bytes_acked:3000", StringComparison.Ordinal)));

        Assert.Equal("State Recv-Q Send-Q Local Address:Port  Peer Address:Port  Process", lines[0]);
        string details = lines.Single(l => l.Contains("bytes_acked:3000", StringComparison.Ordinal));
        Assert.StartsWith("\t skmem:(r0,rb", details);
        // ssthresh shows only once set: a retransmission timeout on a loaded machine sets it.
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(details, @" ts sack cubic wscale:\d+,\d+ rto:\d+ rtt:[\d.]+/[\d.]+ mss:\d+ cwnd:\d+( ssthresh:\d+)? bytes_sent:3000 bytes_acked:3000 bytes_received:0( |$)"), details); // what follows (send, delivery_rate) shows only with an RTT above 0
        Assert.Contains(lines, l => l.Contains("bytes_sent:0 bytes_acked:0 bytes_received:3000", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("LISTEN", StringComparison.Ordinal));
    }

    [Fact]
    public void ClosedByThisSide_SsAllAndListening_TimeWaitRecordOnlyWithAll()
    {
        (StackSocket client, StackSocket server) = Connected(7002);
        server.Dispose(); // the server side closes first: its TIME-WAIT becomes a compact record
        Assert.Equal(0, client.Receive(new byte[1]));
        client.Dispose();
        using ControlServer control = Start("a");

        string[] all = AskUntil(control.Path, "ss -tani", l => l.Any(x => x.StartsWith("TIME-WAIT", StringComparison.Ordinal)));
        Assert.Matches(@"^\t timer:\(timewait,\d+sec,0\)$", all[Array.FindIndex(all, l => l.StartsWith("TIME-WAIT", StringComparison.Ordinal)) + 1]);
        Assert.DoesNotContain(Ask(control.Path, "ss -tn"), l => l.StartsWith("TIME-WAIT", StringComparison.Ordinal));
        Assert.Equal(["State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process", "LISTEN 0      16          10.9.0.1:7002      0.0.0.0:*"], Ask(control.Path, "ss -tln"));
    }

    [Fact]
    public void TwoListenersAndTheirConnections_SsWithStateAndPortFilters_OnlyTheMatchingRows()
    {
        (StackSocket client, _) = Connected(7010);
        _ = Connected(7011);
        ushort clientPort = (ushort)((System.Net.IPEndPoint)client.LocalEndPoint!).Port;
        using ControlServer control = Start("a");

        string[] established = AskUntil(control.Path, "ss -tn state established", l => l.Length == 5);
        Assert.All(established.Skip(1), l => Assert.StartsWith("ESTAB ", l, StringComparison.Ordinal));

        string[] listening = Ask(control.Path, "ss -tn state listening");
        Assert.Equal(["LISTEN", "LISTEN"], listening.Skip(1).Select(l => l.Split(' ')[0]));

        string[] toPort = Ask(control.Path, "ss -tn dport = :7010");
        Assert.Matches($@"^ESTAB +0 +0 +10\.9\.0\.1:{clientPort} +10\.9\.0\.1:7010$", Assert.Single(toPort.Skip(1)));

        string[] fromPort = Ask(control.Path, "ss -tn state established ( sport = :7010 or sport = :7011 )");
        Assert.Equal(2, fromPort.Length - 1);
        Assert.All(fromPort.Skip(1), l => Assert.Matches(@"^ESTAB +0 +0 +10\.9\.0\.1:701[01] ", l));

        string[] toAddress = Ask(control.Path, "ss -tn dst 10.9.0.0/24:7011");
        Assert.Matches(@"10\.9\.0\.1:7011$", Assert.Single(toAddress.Skip(1)));
        Assert.Single(Ask(control.Path, "ss -tn dst 10.9.1.1"));
        Assert.Equal(3, Ask(control.Path, "ss -tn sport > :7010").Length - 1); // 7011's server side, and the two clients' ephemeral ports
    }

    [Fact]
    public void ConnectionWithUnackedDataAndATimeWait_SsTimersProcessExtended_WordsAfterThePeerInSsOrder()
    {
        (StackSocket client, StackSocket server) = Connected(7012);
        client.Send(new byte[100]);
        (StackSocket closing, StackSocket closed) = Connected(7013);
        closed.Dispose();
        Assert.Equal(0, closing.Receive(new byte[1]));
        closing.Dispose();
        using ControlServer control = Start("a");

        string[] lines = AskUntil(control.Path, "ss -tanope", l => l.Any(x => x.StartsWith("TIME-WAIT", StringComparison.Ordinal)));

        string process = $"users:((\"tunstack\",pid={Environment.ProcessId}))";
        string listener = lines.Single(l => l.StartsWith("LISTEN", StringComparison.Ordinal) && l.Contains(":7012 ", StringComparison.Ordinal));
        Assert.Matches($@"0\.0\.0\.0:\* +{System.Text.RegularExpressions.Regex.Escape(process)} uid:{ControlPaths.UserId} <->$", listener);
        string timeWait = lines.Single(l => l.StartsWith("TIME-WAIT", StringComparison.Ordinal));
        Assert.Matches($@" {System.Text.RegularExpressions.Regex.Escape(process)} timer:\(timewait,\d+sec,0\) uid:\d+ ---$", timeWait);
        Assert.All(lines.Where(l => l.StartsWith("ESTAB", StringComparison.Ordinal)), l => Assert.Matches($@" {System.Text.RegularExpressions.Regex.Escape(process)}( timer:\((on|keepalive),\d+(ms|sec|min\d+sec),\d+\))? uid:\d+ <->$", l));
    }

    [Fact]
    public void ClosedPeer_SsExtended_ReceiveSideShownShutDown()
    {
        (StackSocket client, StackSocket server) = Connected(7014);
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, server.Receive(new byte[1]));
        using ControlServer control = Start("a");

        string[] lines = AskUntil(control.Path, "ss -tne", l => l.Any(x => x.StartsWith("CLOSE-WAIT", StringComparison.Ordinal)));

        Assert.EndsWith(" -->", lines.Single(l => l.StartsWith("CLOSE-WAIT", StringComparison.Ordinal)));
        Assert.EndsWith(" <--", lines.Single(l => l.StartsWith("FIN-WAIT-2", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task StatsTwice_DeltasSinceThisUidsLastCall_OtherUidHasItsOwn()
    {
        using ControlServer control = Start("a");
        long before = _stack.Host.Counters[Counter.UdpReceived];
        string[] first = Ask(control.Path, "stats");
        Assert.StartsWith("#tunstack a: counter, value, change since the daemon started", first[0]);
        using (StackSocket a = _stack.BoundUdp(6000))
        using (StackSocket b = _stack.Udp())
        {
            b.SendTo(new byte[1], SocketHost.At(6000));
            b.SendTo(new byte[1], SocketHost.At(6000));
            Assert.Equal(1, a.Receive(new byte[1]));
            Assert.Equal(1, a.Receive(new byte[1]));
        }

        string[] second = Ask(control.Path, "stats");
        Assert.Matches(@"^#tunstack a: counter, value, change since uid \d+'s last stats [\d.]+ s ago$", second[0]);
        Assert.Matches($@"^UdpReceived +{before + 2} +2$", second.Single(l => l.StartsWith("UdpReceived ", StringComparison.Ordinal)));

        string other = await control.AnswerAsync("stats", 4242);
        Assert.Matches($@"\nUdpReceived +{before + 2} +{before + 2}\n", other);
        Assert.DoesNotContain("\nTcpSynCookiesSent ", other);
        string zeros = await control.AnswerAsync("stats -z", 4242);
        Assert.Matches(@"\nTcpSynCookiesSent +0 +0\n", zeros);
        Assert.StartsWith($"ok {Enum.GetValues<Counter>().Length + 1}\n", zeros);
    }

    [Fact]
    public void ConnectionOpen_Status_OneLineFromThePublishedSummary()
    {
        _ = Connected(7003);
        using ControlServer control = Start("a");

        string line = Assert.Single(AskUntil(control.Path, "status", l => l[0].Contains("tcp 2 connected", StringComparison.Ordinal)));
        Assert.Matches($@"^a \(tunstack up, pid {Environment.ProcessId}\): up \d+s; addresses 10\.9\.0\.1/24 fd09::1/64; tcp 2 connected, 0 in TIME-WAIT, 1 listening; udp 0 sockets; packets in [\d.]+/s, out [\d.]+/s$", line);
    }

    [Theory]
    [InlineData("ss -x", "error ss: unknown option '-x' (the options are -t -u -l -a -n -i -m -o -p -e, then a filter)")]
    [InlineData("ss --tcp", "error ss: unknown option '--tcp' (the options are -t -u -l -a -n -i -m -o -p -e, then a filter)")]
    [InlineData("ss -t state resting", "error ss: unknown state 'resting' (the states are established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, closing, listening, all, connected, synchronized, bucket, big)")]
    [InlineData("ss dport = :http80", "error ss: dport: ':http80' is not a port (such as :80)")]
    [InlineData("ss ( dport = :80", "error ss: a '(' in the filter is not closed")]
    [InlineData("ss color red", "error ss: unknown filter word 'color' (the conditions are dport, sport, dst and src, with and, or, not and parentheses)")]
    [InlineData("stats -a", "error stats: unknown option '-a' (the option is -z)")]
    [InlineData("status now", "error status: unknown option 'now' (status takes none)")]
    [InlineData("reboot", "error unknown request 'reboot' (the requests are ss, stats, status and trace)")]
    [InlineData("", "error empty request (the requests are ss, stats, status and trace)")]
    public void BadRequestLine_OneErrorLine(string request, string expected)
    {
        using ControlServer control = Start("a");
        Assert.Equal(expected + "\n", Raw(control.Path, request + "\n"));
    }

    [Fact]
    public void Started_SocketIsMode0600_RemovedOnDispose()
    {
        ControlServer control = Start("a");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsLinux() ? File.GetUnixFileMode(control.Path) : UnixFileMode.None);
        control.Dispose();
        Assert.False(File.Exists(control.Path));
    }

    [Fact]
    public void SocketLeftByAKilledDaemon_Start_ReplacesIt_ButNotALiveOne()
    {
        string path = Path.Combine(_directory, "a.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(path)); // closed without removing its file, as after SIGKILL
        }

        Assert.Empty(ControlClient.FindRunning([_directory]));
        using ControlServer control = Start("a");
        Assert.Equal([("a", path)], ControlClient.FindRunning([_directory]));
        IOException e = Assert.Throws<IOException>(() => ControlServer.Start(path, new StackPartitions([_stack.Host.Runner]), "a", "up", _log));
        Assert.Equal($"{path} is in use by a running tunstack", e.Message);
        Assert.Single(Ask(control.Path, "status"));
    }

    [Fact]
    public void NoDaemon_Client_OneLineSayingWhereItLooked_ExitCode1()
    {
        Assert.Equal((1, string.Empty, $"tunstack: no tunstack daemon is running (no control socket answers in {_directory})\n"), RunClient(null));
        Assert.Equal((1, string.Empty, $"tunstack: no daemon named 'a' is running (no control socket answers in {_directory})\n"), RunClient("a"));
    }

    [Fact]
    public void OneDaemon_ClientWithoutName_AsksIt()
    {
        using ControlServer control = Start("a");
        (int code, string output, string error) = RunClient(null);
        Assert.Equal(0, code);
        Assert.StartsWith("a (tunstack up, pid ", output);
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public void TwoDaemons_ClientWithoutNameExitCode2_UnknownNameExitCode1_BothListThem_WithNameAsksThatOne()
    {
        using ControlServer a = Start("a");
        using ControlServer b = Start("b");
        Assert.Equal((2, string.Empty, "tunstack: 2 daemons are running: a, b; choose one with --name\n"), RunClient(null));
        Assert.Equal((1, string.Empty, "tunstack: --name: no daemon named 'c' is running; running: a, b\n"), RunClient("c"));
        Assert.StartsWith("b (tunstack up, pid ", RunClient("b").Output);
        Assert.StartsWith("a (tunstack up, pid ", RunClient(a.Path).Output);
    }

    [Fact]
    public void StackStopped_Ss_ErrorSayingSo_ExitCode1()
    {
        var host = StackHost.Start(TunStack.Links.MemoryLink.CreatePair().A, new StackOptions());
        using ControlServer control = ControlServer.Start(Path.Combine(_directory, "gone.sock"), new StackPartitions([host.Runner]), "gone", "up", _log);
        host.Dispose();
        (int code, string output, string error) = RunClient("gone", "ss -t");
        Assert.Equal((1, string.Empty), (code, output));
        Assert.Equal("tunstack: gone: the stack is not running (stopping, or its loop has ended)\n", error);
    }

    [Theory]
    [InlineData(new[] { "up", "--control", "" }, "--control: '' is not a socket path")]
    [InlineData(new[] { "up", "--control", "/run/tunstack/" }, "--control: '/run/tunstack/' is not a socket path")]
    [InlineData(new[] { "forward", "--netns", "app", "--control", "" }, "--control: '' is not a socket path")]
    [InlineData(new[] { "ss", "-x" }, "'-x'")]
    [InlineData(new[] { "ss", "-t", "dst", "10.0.0.300" }, "ss: dst: '10.0.0.300' is not an address pattern")]
    [InlineData(new[] { "ss", "state" }, "ss: 'state' needs a state")]
    [InlineData(new[] { "stats", "--bogus" }, "'--bogus'")]
    public void BadArgument_OneLineNamingIt_ExitCode2(string[] args, string expected) => InProcessCli.AssertRefused(args, expected);

    [Fact]
    public void ServicesFile_Read_FirstNameOfEachPortAndProtocol_CommentsIgnored()
    {
        string file = Path.Combine(_directory, "services");
        File.WriteAllText(file, "# comment\necho\t\t7/tcp\necho\t\t7/udp\nhttp\t\t80/tcp\t\twww # WorldWideWeb\nwww-alt\t80/tcp\nbroken line\n");
        Dictionary<(int Port, string Protocol), string> names = ServiceNames.Read(file);
        Assert.Equal(new Dictionary<(int, string), string> { [(7, "tcp")] = "echo", [(7, "udp")] = "echo", [(80, "tcp")] = "http" }, names);
        Assert.Empty(ServiceNames.Read(Path.Combine(_directory, "missing")));
    }

    [Fact]
    public void ControlOption_PathLongerThanSunPath_RefusedNamingTheLimit()
    {
        string problem = ControlPaths.ForDaemon("/tmp/" + new string('x', 110) + ".sock", new TunSettings(), out string? path)!;
        Assert.Null(path);
        Assert.EndsWith("is longer than a Unix socket path may be (107 bytes)", problem);
        Assert.Null(ControlPaths.ForDaemon("none", new TunSettings(), out path));
        Assert.Null(path);
        Assert.Null(ControlPaths.ForDaemon(null, new TunSettings { Netns = "lab" }, out path));
        Assert.Equal("lab.sock", Path.GetFileName(path));
    }

    [Theory]
    [InlineData(null, "tun0", "tun0")]
    [InlineData("ns1", "tun0", "ns1")]
    public void DaemonSettings_DefaultName_NamespaceElseTun(string? netns, string tun, string expected)
        => Assert.Equal(expected, ControlPaths.DefaultName(new TunSettings { Netns = netns, Tun = tun }));

    // A listener on port and a connection to it through the stack: (client, accepted side); the listener stays.
    private (StackSocket Client, StackSocket Server) Connected(int port)
    {
        StackSocket listener = _stack.Listen(port);
        StackSocket client = _stack.Tcp();
        client.Connect(SocketHost.At(port));
        StackSocket server = listener.Accept();
        _accepted.Add(server);
        return (client, server);
    }

    private ControlServer Start(string name)
        => ControlServer.Start(Path.Combine(_directory, name + ControlPaths.Suffix), new StackPartitions([_stack.Host.Runner]), name, "up", _log);

    private (int Code, string Output, string Error) RunClient(string? name, string request = "status")
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = ControlClient.Run(name, request, [_directory], output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static string[] Ask(string path, string request)
    {
        string? problem = ControlClient.Ask(path, request, out IReadOnlyList<string> lines);
        Assert.Null(problem);
        return lines.ToArray();
    }

    // Asks until the answer shows what the test waits for (the stack's loop runs on its own), at most 10 s.
    private static string[] AskUntil(string path, string request, Func<string[], bool> done)
    {
        string[] lines = Ask(path, request);
        for (int i = 0; i < 100 && !done(lines); i++)
        {
            Thread.Sleep(100);
            lines = Ask(path, request);
        }

        Assert.True(done(lines), string.Join('\n', lines));
        return lines;
    }

    // The raw answer to the raw bytes of a request.
    private static string Raw(string path, string request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(path));
        socket.Send(Encoding.UTF8.GetBytes(request));
        using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
