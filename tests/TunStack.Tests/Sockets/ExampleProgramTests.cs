// Runs the programs of docs/examples (the seed texts' programs in C#, and the embedded app).
using System.Net;
using TunStack.Examples;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

public class ExampleProgramTests
{
    [Fact]
    public async Task GlibcSelectServer_ServesThreeStreamClients_PrintsEachMessage()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listening = SelectServer.MakeSocket(h.Host, 5555);
        var log = new StringWriter();
        Task server = Task.Run(() => SelectServer.Run(listening, log, messages: 3));
        for (int i = 0; i < 3; i++)
        {
            StreamClient.Run(h.Host, SocketHost.At(5555));
        }

        await server.WaitAsync(TimeSpan.FromSeconds(20));
        string output = log.ToString();
        Assert.Equal(3, output.Split('\n').Count(l => l.StartsWith("Server: got message: `Yow!!! Are we having fun yet?!?'", StringComparison.Ordinal)));
        Assert.Equal(3, output.Split('\n').Count(l => l.StartsWith("Server: connect from host 10.9.0.1, port ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task TlpiUppercaseDatagrams_SendtoRecvfrom_AndConnectedClient()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket sfd = UppercaseDatagram.Bind(h.Host, 50002);
        var log = new StringWriter();
        Task server = Task.Run(() => UppercaseDatagram.Server(sfd, log, count: 4));

        List<string> replies = UppercaseDatagram.Client(h.Host, SocketHost.At(50002), "hello", "world, longer than ten");
        Assert.Equal(new[] { "HELLO", "WORLD, LON" }, replies); // BUF_SIZE 10 truncates, as in the book
        List<string> connected = UppercaseDatagram.ConnectedClient(h.Host, SocketHost.At(50002), "abc", "xyz");
        Assert.Equal(new[] { "ABC", "XYZ" }, connected);
        await server.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(4, log.ToString().Split('\n').Count(l => l.StartsWith("Server received ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task EmbeddedApp_ServesAndFetchesThroughItsOwnStack()
    {
        using var h = new SocketHost(StackClock.Real);
        Assert.Equal("hello 10.9.0.1 over HTTP/1.1", await EmbeddedApp.RunAsync(h.Host, IPAddress.Parse("10.9.0.1")));
    }
}
