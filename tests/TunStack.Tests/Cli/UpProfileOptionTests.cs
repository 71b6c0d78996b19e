namespace TunStack.Tests.Cli;

/// <summary><c>tunstack up --profile</c>: a profile that does not exist is refused before anything is made.</summary>
public class UpProfileOptionTests
{
    [Theory]
    [InlineData("freebsd")]
    [InlineData("Linux")]
    public void Up_UnknownProfile_OneLineNamingTheOption_ExitCode2(string name)
        => InProcessCli.AssertRefused(["up", "--profile", name], $"--profile must be default or linux, not '{name}'");

    [Fact]
    public void Settings_ProfileLinux_StackOptionsRestartAfterIdleAndLinuxHyStart()
    {
        var settings = new TunStack.Cli.TunSettings { Profile = "linux" };
        Assert.Null(settings.Validate(withServices: false));
        StackOptions options = settings.ToStackOptions();
        Assert.True(options.Tcp.RestartWindowAfterIdle);
        Assert.Equal(TcpSlowStartExit.HyStart, options.Tcp.SlowStartExit);
        Assert.False(new TunStack.Cli.TunSettings().ToStackOptions().Tcp.RestartWindowAfterIdle);
    }
}
