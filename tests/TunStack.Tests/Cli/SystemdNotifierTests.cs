using System.Globalization;
using TunStack.Cli;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Cli;

/// <summary>
/// The sd_notify side of the daemon, in-process: a stack on a memory link, a socket playing
/// systemd, and the environment systemd would set (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID).
/// </summary>
public class SystemdNotifierTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void NotifySocketAndWatchdog_Running_ReadyStatusRepeatedWatchdogThenStopping()
    {
        using var systemd = new FakeSystemd();
        using StackRunner runner = StartRunner();
        var log = new StringWriter();
        SystemdNotifier notifier = Start(runner, log, systemd.NotifySocket, watchdogUsec: 200_000)!;
        Assert.Equal(TimeSpan.FromMilliseconds(100), notifier.WatchdogInterval);

        string ready = systemd.WaitFor("READY=1", s_wait);
        Assert.Contains("STATUS=ready; packets in 0, out 0, dropped 0", ready, StringComparison.Ordinal);
        systemd.WaitFor("STATUS=tcp connections 0 (0 in TIME-WAIT)", s_wait);
        WaitUntil(() => systemd.Count("WATCHDOG=1") >= 5, "five WATCHDOG=1 pings", systemd);
        Assert.DoesNotContain(systemd.Seen, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));

        notifier.Dispose();
        systemd.WaitFor("STOPPING=1", s_wait);
        Assert.Equal(string.Empty, log.ToString());
    }

    [Fact]
    public void AbstractNotifySocket_Start_ReadyArrives()
    {
        using var systemd = new FakeSystemd(abstractName: true);
        using StackRunner runner = StartRunner();
        using SystemdNotifier? notifier = Start(runner, new StringWriter(), systemd.NotifySocket, watchdogUsec: null);
        Assert.NotNull(notifier);
        Assert.StartsWith("READY=1\n", systemd.WaitFor("READY=1", s_wait), StringComparison.Ordinal);
        Assert.Null(notifier.WatchdogInterval);
    }

    [Fact]
    public void StackLoopStalled_WatchdogDue_NoPingsUntilTheLoopRunsAgain()
    {
        using var systemd = new FakeSystemd();
        using StackRunner runner = StartRunner();
        using SystemdNotifier notifier = Start(runner, new StringWriter(), systemd.NotifySocket, watchdogUsec: 100_000)!;
        WaitUntil(() => systemd.Count("WATCHDOG=1") >= 2, "the first pings", systemd);

        // Hold the loop's thread: while the posted action runs, no heartbeat can. Every ping sent
        // before it started is already in the socket, so after Clear nothing more may arrive.
        using var stalled = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        runner.Post(_ =>
        {
            stalled.Set();
            release.Wait();
        });
        Assert.True(stalled.Wait(s_wait), "the loop did not run the stalling action");
        systemd.Clear();
        Thread.Sleep(600); // twelve ping intervals
        Assert.Equal(0, systemd.Count("WATCHDOG=1"));

        release.Set();
        WaitUntil(() => systemd.Count("WATCHDOG=1") >= 2, "pings after the loop runs again", systemd);
    }

    [Fact]
    public void WatchdogPidOfAnotherProcess_Start_ReadyButNoWatchdogPings()
    {
        using var systemd = new FakeSystemd();
        using StackRunner runner = StartRunner();
        using SystemdNotifier notifier = Start(runner, new StringWriter(), systemd.NotifySocket, watchdogUsec: 100_000, watchdogPid: Environment.ProcessId + 1)!;
        systemd.WaitFor("READY=1", s_wait);
        Assert.Null(notifier.WatchdogInterval);
        Thread.Sleep(400);
        Assert.Equal(0, systemd.Count("WATCHDOG=1"));
    }

    [Fact]
    public void WatchdogPidOfThisProcess_Start_Pings()
    {
        using var systemd = new FakeSystemd();
        using StackRunner runner = StartRunner();
        using SystemdNotifier notifier = Start(runner, new StringWriter(), systemd.NotifySocket, watchdogUsec: 100_000, watchdogPid: Environment.ProcessId)!;
        WaitUntil(() => systemd.Count("WATCHDOG=1") >= 2, "pings", systemd);
    }

    [Fact]
    public void NoNotifySocket_Start_NothingStartedNothingLogged()
    {
        using StackRunner runner = StartRunner();
        var log = new StringWriter();
        Assert.Null(Start(runner, log, notifySocket: null, watchdogUsec: 100_000));
        Assert.Equal(string.Empty, log.ToString());
    }

    [Fact]
    public void MalformedWatchdogUsec_Start_WarnsAndSendsNoPings()
    {
        using var systemd = new FakeSystemd();
        using StackRunner runner = StartRunner();
        var log = new StringWriter();
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.NotifySocket, ["WATCHDOG_USEC"] = "ten" };
        using SystemdNotifier notifier = SystemdNotifier.Start(new StackPartitions([runner]), new ConsoleLog(log, LogLevel.Info), name => environment.GetValueOrDefault(name))!;
        systemd.WaitFor("READY=1", s_wait);
        Assert.Null(notifier.WatchdogInterval);
        Assert.Contains("WATCHDOG_USEC=ten is not a positive number of microseconds; no watchdog pings are sent", log.ToString(), StringComparison.Ordinal);
    }

    private static SystemdNotifier? Start(StackRunner runner, StringWriter log, string? notifySocket, long? watchdogUsec, int? watchdogPid = null)
    {
        var environment = new Dictionary<string, string>();
        if (notifySocket is not null)
        {
            environment["NOTIFY_SOCKET"] = notifySocket;
        }

        if (watchdogUsec is { } usec)
        {
            environment["WATCHDOG_USEC"] = usec.ToString(CultureInfo.InvariantCulture);
        }

        if (watchdogPid is { } pid)
        {
            environment["WATCHDOG_PID"] = pid.ToString(CultureInfo.InvariantCulture);
        }

        return SystemdNotifier.Start(new StackPartitions([runner]), new ConsoleLog(log, LogLevel.Info), name => environment.GetValueOrDefault(name));
    }

    private static StackRunner StartRunner()
    {
        (MemoryLink near, _) = MemoryLink.CreatePair();
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.3.0.1/24"));
        var runner = new StackRunner(near, options, "notify-test");
        runner.Start();
        return runner;
    }

    private static void WaitUntil(Func<bool> condition, string what, FakeSystemd systemd)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"no {what} in {s_wait.TotalSeconds} s; systemd got: {string.Join(" | ", systemd.Seen)}");
            Thread.Sleep(20);
        }
    }
}
