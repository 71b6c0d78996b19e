using System.Globalization;
using TunStack.Cli;
using TunStack.Lab;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Tests.Sockets;

namespace TunStack.Tests.Cli;

/// <summary>
/// tunstack trace: a running daemon's connection traced live through its control socket, here a
/// <see cref="ControlServer"/> over a stack on a MemoryLink (as ControlSocketTests), read through
/// the client the command uses.
/// </summary>
public sealed class ConnectionTraceTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tunstack-trace-").FullName;
    private readonly SocketHost _stack = new(StackClock.Real);
    private readonly ConsoleLog _log = new(TextWriter.Null, LogLevel.Debug);
    private readonly List<StackSocket> _sockets = new();

    public void Dispose()
    {
        _sockets.ForEach(s => s.Dispose());
        _stack.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void EstablishedConnection_TraceCountThree_HeaderAndThreeRowsInTheLabsColumns()
    {
        (StackSocket client, StackSocket server) = Connected(7100);
        client.Send(new byte[3000]);
        Drain(server, 3000);
        using ControlServer control = Start();

        (int code, string[] lines, string error) = Follow($"trace {Name(client)} 10 3");

        Assert.True(code == 0, error);
        Assert.Equal(ConnectionTraceFormat.Header, lines[0]);
        Assert.Equal(4, lines.Length);
        string[] columns = ConnectionTraceFormat.Header.Split(',');
        double previous = -1;
        foreach (string row in lines[1..])
        {
            string[] fields = row.Split(',');
            Assert.Equal(columns.Length, fields.Length);
            double time = double.Parse(fields[0], CultureInfo.InvariantCulture);
            Assert.True(time > previous, row);
            previous = time;
            Assert.Equal("Established", fields[1]);
            Assert.True(int.Parse(fields[2], CultureInfo.InvariantCulture) > 0, row);       // cwnd
            Assert.Equal("3000", fields[columns.AsSpan().IndexOf("delivered")]);
            Assert.True(long.Parse(fields[^1], CultureInfo.InvariantCulture) > 0, row);   // the peer's window
        }

        Assert.True(previous >= 0.015, $"three samples 10 ms apart span {previous} s");
    }

    [Fact]
    public async Task ConnectionClosing_TraceUntilItEnds_LastRowIsTimeWaitAndTheStreamEnds()
    {
        (StackSocket client, StackSocket server) = Connected(7101);
        using ControlServer control = Start();
        string name = Name(client);
        using var output = new LineCountingWriter();
        Task<(int Code, string[] Lines, string Error)> trace = Task.Run(() => Follow($"trace {name} 5 0", output));
        Assert.True(await output.Lines.WaitAsync(TimeSpan.FromSeconds(10)) && await output.Lines.WaitAsync(TimeSpan.FromSeconds(10)), "no header and first row");

        client.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        Assert.Equal(0, server.Receive(new byte[1]));
        server.Dispose();

        (int code, string[] lines, string error) = await trace.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(code == 0, error);
        Assert.StartsWith("Established", lines[1].Split(',')[1], StringComparison.Ordinal);
        Assert.Equal("TimeWait", lines[^1].Split(',')[1]);
    }

    [Fact]
    public void EndpointOfTwoConnections_Trace_RefusedNamingBothAsLocalPeer()
    {
        (StackSocket client, _) = Connected(7102);
        using ControlServer control = Start();

        (int code, _, string error) = Follow("trace 10.9.0.1:7102 10 1");

        Assert.Equal(1, code);
        Assert.Contains("2 connections match '10.9.0.1:7102'", error);
        Assert.Contains($"{Name(client)}", error);
    }

    [Fact]
    public void NoSuchConnection_Trace_OneLineSayingSo()
    {
        using ControlServer control = Start();

        (int code, _, string error) = Follow("trace 10.9.0.1:1 10 1");

        Assert.Equal(1, code);
        Assert.Equal("tunstack: t: trace: no TCP connection matches '10.9.0.1:1' (name its local or peer endpoint as tunstack ss -t shows it, or LOCAL-PEER)", error.Trim());
    }

    [Theory]
    [InlineData("trace 10.9.0.1:1 0 1", "trace: the interval is a whole number of milliseconds, at least 1, not '0'")]
    [InlineData("trace 10.9.0.1:1 10", "trace: the request is 'trace CONN INTERVAL_MS COUNT'")]
    [InlineData("trace 10.9.0.1:1 10 -1", "trace: the count is a whole number (0: until the connection ends), not '-1'")]
    public void MalformedRequest_Trace_ErrorLine(string request, string expected)
    {
        using ControlServer control = Start();

        (int code, _, string error) = Follow(request);

        Assert.Equal(1, code);
        Assert.Equal($"tunstack: t: {expected}", error.Trim());
    }

    [Fact]
    public void Cli_IntervalZero_OneLineAndExitCode2()
        => InProcessCli.AssertRefused(["trace", "10.9.0.1:80", "--interval", "0"], "--interval must be between 1 and 3600000, not 0");

    private (StackSocket Client, StackSocket Server) Connected(int port)
    {
        StackSocket listener = _stack.Listen(port);
        StackSocket client = _stack.Tcp();
        client.Connect(SocketHost.At(port));
        StackSocket server = listener.Accept();
        _sockets.AddRange([listener, client, server]);
        return (client, server);
    }

    private static string Name(StackSocket client) => $"{client.LocalEndPoint}-{client.RemoteEndPoint}";

    private static void Drain(StackSocket socket, int bytes)
    {
        byte[] buffer = new byte[bytes];
        for (int read = 0; read < bytes;)
        {
            read += socket.Receive(buffer.AsSpan(read));
        }
    }

    private ControlServer Start() => ControlServer.Start(Path.Combine(_directory, "t" + ControlPaths.Suffix), new StackPartitions([_stack.Host.Runner]), "t", "up", _log);

    private (int Code, string[] Lines, string Error) Follow(string request, StringWriter? output = null)
    {
        output ??= new StringWriter();
        var error = new StringWriter();
        int code = ControlClient.Follow(null, request, [_directory], output, error, CancellationToken.None);
        return (code, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), error.ToString());
    }

    // Counts the lines written (from the trace's thread), so a test can wait for the first rows.
    private sealed class LineCountingWriter : StringWriter
    {
        public SemaphoreSlim Lines { get; } = new(0);

        public override void WriteLine(string? value)
        {
            lock (this)
            {
                base.WriteLine(value);
            }

            Lines.Release();
        }

        public override string ToString()
        {
            lock (this)
            {
                return base.ToString();
            }
        }

        protected override void Dispose(bool disposing)
        {
            Lines.Dispose();
            base.Dispose(disposing);
        }
    }
}
