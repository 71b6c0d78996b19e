using System.Text.Json;
using System.Text.RegularExpressions;
using TunStack.Cli;

namespace TunStack.Tests.Cli;

/// <summary>--log-format: text for people, json for log shippers, journal for systemd; a bad value is one line and exit code 2.</summary>
public class LogFormatTests
{
    [Fact]
    public void TextFormat_InfoLine_TimeLevelMessage()
    {
        var output = new StringWriter();
        new ConsoleLog(output, LogLevel.Info).Info("ready: tun tunstack0");
        Assert.Matches(new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  ready: tun tunstack0\r?\n$"), output.ToString());
    }

    [Fact]
    public void JournalFormat_EachLevel_SyslogPriorityPrefixNoTimeOneLine()
    {
        var output = new StringWriter();
        var log = new ConsoleLog(output, LogLevel.Debug) { Format = LogFormat.Journal };
        log.Error("broken");
        log.Warn("careful");
        log.Info("ready\nsecond line");
        log.Debug("detail");
        Assert.Equal(["<3>broken", "<4>careful", "<6>ready second line", "<7>detail"], Lines(output));
    }

    [Fact]
    public void JsonFormat_LineWithFields_OneObjectWithTimeLevelMessageAndFields()
    {
        var output = new StringWriter();
        var log = new ConsoleLog(output, LogLevel.Info) { Format = LogFormat.Json };
        var counters = new Dictionary<string, long> { ["LinkReceived"] = 12, ["TcpActiveOpens"] = 1 };
        log.Write(LogLevel.Info, "counters: LinkReceived=12 TcpActiveOpens=1", [new("counters", counters)]);
        log.Report("tcp 10.77.0.2:7 to 10.77.0.1:4000: Established", [new("connection", new HttpService.ConnectionRow("10.77.0.2:7", "10.77.0.1:4000", "Established", 0, 0.25, 200, 14600, int.MaxValue, false, 1000))]);
        log.Warn("a \"quoted\" word");
        log.Debug("not written at info");

        string[] lines = Lines(output);
        Assert.Equal(3, lines.Length);
        using JsonDocument first = JsonDocument.Parse(lines[0]);
        JsonElement root = first.RootElement;
        Assert.Matches(new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"), root.GetProperty("time").GetString());
        Assert.Equal("info", root.GetProperty("level").GetString());
        Assert.Equal("counters: LinkReceived=12 TcpActiveOpens=1", root.GetProperty("message").GetString());
        Assert.Equal(12, root.GetProperty("counters").GetProperty("LinkReceived").GetInt64());
        using JsonDocument second = JsonDocument.Parse(lines[1]);
        JsonElement connection = second.RootElement.GetProperty("connection");
        Assert.Equal("10.77.0.1:4000", connection.GetProperty("remote").GetString());
        Assert.Equal(0.25, connection.GetProperty("srttMs").GetDouble());
        using JsonDocument third = JsonDocument.Parse(lines[2]);
        Assert.Equal("warn", third.RootElement.GetProperty("level").GetString());
        Assert.Equal("a \"quoted\" word", third.RootElement.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("up")]
    [InlineData("forward")]
    public void LogFormatOption_UnknownValue_OneLineNamingTheOptionExit2(string command)
    {
        InProcessCli.AssertRefused([command, "--netns", "never-created", "--log-format", "xml"], "--log-format takes text, json or journal, not 'xml'");
        InProcessCli.AssertRefused([command, "--netns", "never-created", "--log-format", "1"], "--log-format takes text, json or journal, not '1'");
    }

    private static string[] Lines(StringWriter output) => output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
}
