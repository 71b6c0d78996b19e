// Runs the programs of docs/examples (the seed texts' programs in C#, and the embedded app).
using System.Net;
using TunStack.Examples;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

public class ExampleProgramTests
{
    // An example's server on the thread pool, printing to a log the test reads afterwards.
    private static (Task Finished, StringWriter Log) Serve(Action<TextWriter> server)
    {
        var log = new StringWriter();
        return (Task.Run(() => server(log)), log);
    }

    private static int LinesStartingWith(StringWriter log, string prefix)
        => log.ToString().Split('\n').Count(l => l.StartsWith(prefix, StringComparison.Ordinal));

    [Fact]
    public async Task GlibcSelectServer_ServesThreeStreamClients_PrintsEachMessage()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listening = SelectServer.MakeSocket(h.Host, 5555);
        (Task server, StringWriter log) = Serve(output => SelectServer.Run(listening, output, messages: 3));
        for (int i = 0; i < 3; i++)
        {
            StreamClient.Run(h.Host, SocketHost.At(5555));
        }

        await server.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3, LinesStartingWith(log, "Server: got message: `Yow!!! Are we having fun yet?!?'"));
        Assert.Equal(3, LinesStartingWith(log, "Server: connect from host 10.9.0.1, port "));
    }

    [Fact]
    public async Task TlpiUppercaseDatagrams_SendtoRecvfrom_AndConnectedClient()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket sfd = UppercaseDatagram.Bind(h.Host, 50002);
        (Task server, StringWriter log) = Serve(output => UppercaseDatagram.Server(sfd, output, count: 4));

        List<string> replies = UppercaseDatagram.Client(h.Host, SocketHost.At(50002), "hello", "world, longer than ten");
        Assert.Equal(new[] { "HELLO", "WORLD, LON" }, replies); // BUF_SIZE 10 truncates, as in the book
        List<string> connected = UppercaseDatagram.ConnectedClient(h.Host, SocketHost.At(50002), "abc", "xyz");
        Assert.Equal(new[] { "ABC", "XYZ" }, connected);
        await server.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(4, LinesStartingWith(log, "Server received "));
    }

    [Fact]
    public async Task EmbeddedApp_ServesAndFetchesThroughItsOwnStack()
    {
        using var h = new SocketHost(StackClock.Real);
        Assert.Equal("hello 10.9.0.1 over HTTP/1.1", await EmbeddedApp.RunAsync(h.Host, IPAddress.Parse("10.9.0.1")));
    }
}
