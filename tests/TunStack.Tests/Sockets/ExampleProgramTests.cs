// Runs the programs of docs/examples (the seed texts' programs in C#, the PollSet echo server, and
// the embedded app).
using System.Net;
using System.Net.Sockets;
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
    public async Task PollSetEchoServer_ThreeClientsSendingAndReadingAtOnce_EchoedByteExact()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listening = PollSetEchoServer.Listen(h.Host, 5556);
        (Task server, StringWriter log) = Serve(output => PollSetEchoServer.Run(listening, output, clients: 3));
        var payload = new byte[512 * 1024];
        new Random(5556).NextBytes(payload);
        StackSocket[] clients = Enumerable.Range(0, 3).Select(_ => h.Tcp()).ToArray();
        foreach (StackSocket client in clients)
        {
            client.Connect(SocketHost.At(5556)); // all connected before any sends: no SYN behind a queue of data
        }

        byte[][] echoes = await Task.WhenAll(clients.Select(client => OnItsOwnThread(() => EchoThrough(client, payload))));

        await server.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.All(echoes, echo => Assert.Equal(payload, echo));
        Assert.Equal(3, LinesStartingWith(log, $"Server: echoed {payload.Length} bytes to port "));
    }

    // Six blocking calls at once would wait for the thread pool to grow (a second or more on two cores).
    private static Task<T> OnItsOwnThread<T>(Func<T> work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // Writes the payload and shuts the sending side while another thread reads the echo to the end.
    private static byte[] EchoThrough(StackSocket client, byte[] payload)
    {
        Task<bool> writing = OnItsOwnThread(() =>
        {
            client.Send(payload);
            client.Shutdown(SocketShutdown.Send);
            return true;
        });
        var echo = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = client.Receive(buffer)) > 0)
        {
            echo.Write(buffer, 0, n);
        }

        writing.Wait();
        return echo.ToArray();
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
