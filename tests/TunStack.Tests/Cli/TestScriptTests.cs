using System.Diagnostics;
using System.Text.RegularExpressions;

namespace TunStack.Tests.Cli;

/// <summary>
/// ./test.sh as someone running it sees it: a line per test class while the tests run, a summary
/// at the end, and every results file it names still there when it has finished. It runs here on
/// one small test class, without building (the tests run on the Release build it makes).
/// </summary>
[Collection(nameof(DotnetSdkRuns))]
public class TestScriptTests
{
    [SkippableFact]
    public void TestScript_FilterMatchingNoTest_FailsSayingNoTestRan()
    {
        Skip.IfNot(AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal),
            "test.sh runs the Release build; these tests are another build");
        string results = Directory.CreateTempSubdirectory("tunstack-test-sh-").FullName;
        try
        {
            (int exitCode, string output, string errors) = RunTestScript(results, "FullyQualifiedName~NoSuchTestClassAnywhere");
            Assert.True(exitCode != 0, "a run of no test must not pass: " + output);
            Assert.Contains("test.sh: no test ran", errors, StringComparison.Ordinal);
            Assert.Equal("0 passed, 0 failed, 0 skipped", output.TrimEnd().Split('\n')[^1]);
        }
        finally
        {
            Directory.Delete(results, recursive: true);
        }
    }

    [SkippableFact]
    public void TestScript_OneClass_ProgressLinePerClassSummaryAndTheResultsItNamesKept()
    {
        Skip.IfNot(AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal),
            "test.sh runs the Release build; these tests are another build");
        string results = Directory.CreateTempSubdirectory("tunstack-test-sh-").FullName;
        try
        {
            (int exitCode, string output, string errors) = RunTestScript(results, "FullyQualifiedName~TunStack.Tests.TimerWheelTests");
            Assert.True(exitCode == 0, output + errors);

            string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(lines, l => Regex.IsMatch(l, @"^test\.sh: +\d+ tests done, +\d+ s: TunStack\.Tests\.TimerWheelTests$"));
            Assert.DoesNotContain(lines, l => l.StartsWith("  Passed ", StringComparison.Ordinal));
            // CI reads the closing line, and only a line that is the count alone counts ("test.sh:" before it
            // hid the count: a prefix may be one plain word).
            Assert.Matches(@"^[1-9]\d* passed, 0 failed, 0 skipped$", lines[^1]);
            Assert.Equal($"test.sh: results in {results}", lines[^2]);
            foreach (Match named in Regex.Matches(output, @"Results File: (\S+)"))
            {
                Assert.True(File.Exists(named.Groups[1].Value), $"test.sh named {named.Groups[1].Value} and it is gone");
            }

            Assert.NotEmpty(Directory.GetFiles(results, "tunstack*.trx"));
        }
        finally
        {
            Directory.Delete(results, recursive: true);
        }
    }

    private static (int ExitCode, string Output, string Errors) RunTestScript(string results, string filter)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { Path.Combine(RepositoryRoot.Path, "test.sh"), "--no-build", "--filter", filter })
        {
            psi.ArgumentList.Add(argument);
        }

        psi.Environment["TUNSTACK_TEST_RESULTS"] = results;
        using Process p = Process.Start(psi)!;
        Task<string> errors = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(300_000), "test.sh did not finish in 5 minutes");
        return (p.ExitCode, output, errors.Result);
    }
}
