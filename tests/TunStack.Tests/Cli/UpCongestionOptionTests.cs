namespace TunStack.Tests.Cli;

/// <summary><c>tunstack up --congestion</c>: names outside the stack's registry are refused before anything is made.</summary>
public class UpCongestionOptionTests
{
    [Theory]
    [InlineData("vegas")]
    [InlineData("BBR")]
    public void Up_UnknownCongestionControl_OneLineNamingTheOption_ExitCode2(string name)
        => InProcessCli.AssertRefused(["up", "--congestion", name], $"--congestion must be one of bbr, cubic, newreno, reno, not '{name}'");
}
