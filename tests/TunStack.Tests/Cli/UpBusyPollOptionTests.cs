using TunStack.Tests.Tun;
using TunStack.Tun;

namespace TunStack.Tests.Cli;

/// <summary><c>tunstack up --busy-poll</c>: off, a duration up to 1 ms, or a one-line refusal before anything is made.</summary>
public class UpBusyPollOptionTests
{
    [Theory]
    [InlineData("sometimes")]
    [InlineData("50")]
    [InlineData("2ms")]
    [InlineData("-5us")]
    public void Up_BadBusyPoll_OneLineNamingTheOption_ExitCode2(string value)
        => InProcessCli.AssertRefused(["up", "--busy-poll", value], $"--busy-poll must be off or a duration of at most 1ms such as 50us, not '{value}'");

    [Theory]
    [InlineData("off", 0)]
    [InlineData("OFF", 0)]
    [InlineData("0us", 0)]
    [InlineData("20us", 20)]
    [InlineData("1ms", 1000)]
    public void Settings_BusyPollGiven_TunOptionsCarryTheLimit(string value, int microseconds)
    {
        var settings = new TunStack.Cli.TunSettings { BusyPoll = value };
        Assert.Null(settings.Validate(withServices: false));
        Assert.Equal(TimeSpan.FromMicroseconds(microseconds), settings.ToInterfaceOptions().Device.BusyPoll);
    }

    [Fact]
    public void Settings_NoBusyPollGiven_TheDefaultLimit()
    {
        var settings = new TunStack.Cli.TunSettings();
        Assert.Null(settings.Validate(withServices: false));
        Assert.Equal(TunOptions.DefaultBusyPoll, settings.ToInterfaceOptions().Device.BusyPoll);
    }

    [SkippableTheory]
    [InlineData("20us", "busy poll up to 20us")]
    [InlineData("off", "busy poll off")]
    public void Up_BusyPollGiven_ReadyLineSaysWhetherTheReaderPolls(string value, string said)
    {
        TunRequirements.Require();
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--busy-poll", value, "--serve", "echo");
        Assert.Contains(said + ";", daemon.Output, StringComparison.Ordinal);
    }
}
