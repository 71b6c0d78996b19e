using TunStack.Cli;

namespace TunStack.Tests.Cli;

/// <summary>The tunstack command line run in this process, with what it prints collected.</summary>
internal static class InProcessCli
{
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = TunStack.Cli.CommandLine.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Runs <paramref name="args"/> and checks the refusal of a bad argument: exit code 2, nothing on standard output, one line "tunstack: ..." containing <paramref name="expected"/>.</summary>
    public static void AssertRefused(string[] args, string expected)
    {
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal(string.Empty, output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tunstack: ", line);
        Assert.Contains(expected, line);
    }
}
