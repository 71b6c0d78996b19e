// The .NET adapters over one in-memory stack: Kestrel serving through UseTunStack and HttpClient
// dialling through CreateHttpHandler talk over the stack's own address (no kernel involved).
using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TunStack.Sockets;
using TunStack.Sockets.AspNetCore;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

public class AdapterTests
{
    private static async Task<WebApplication> StartWebApp(StackHost host, int port)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTunStack(host);
        builder.WebHost.ConfigureKestrel(k => k.ListenTunStack(new IPEndPoint(IPAddress.Any, port)));
        WebApplication app = builder.Build();
        app.MapGet("/", (HttpContext c) => $"hello over {c.Request.Protocol} from {c.Connection.RemoteIpAddress}");
        app.MapPost("/echo", async (HttpContext c) =>
        {
            using var body = new MemoryStream();
            await c.Request.Body.CopyToAsync(body);
            return Results.Bytes(body.ToArray());
        });
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task Kestrel_UseTunStack_ServesHttp11AndH2c_ToHttpClientThroughTheStack()
    {
        using var h = new SocketHost(StackClock.Real);
        await using WebApplication app = await StartWebApp(h.Host, 8080);
        using var client = new HttpClient(h.Host.CreateHttpHandler()) { BaseAddress = new Uri("http://10.9.0.1:8080/") };

        Assert.Equal("hello over HTTP/1.1 from 10.9.0.1", await client.GetStringAsync("/"));

        using var h2 = new HttpRequestMessage(HttpMethod.Get, "/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using HttpResponseMessage response = await client.SendAsync(h2);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("hello over HTTP/2 from 10.9.0.1", await response.Content.ReadAsStringAsync());

        byte[] big = new byte[2_000_000];
        new Random(5).NextBytes(big);
        using HttpResponseMessage echoed = await client.PostAsync("/echo", new ByteArrayContent(big));
        Assert.Equal(big, await echoed.Content.ReadAsByteArrayAsync());
        await app.StopAsync();
    }

    [Fact]
    public async Task Kestrel_ClientsResetMidConnection_StopCompletesPromptly()
    {
        using var h = new SocketHost(StackClock.Real);
        WebApplication app = await StartWebApp(h.Host, 8082);
        for (int i = 0; i < 20; i++)
        {
            using StackSocket client = h.Tcp();
            client.Connect(SocketHost.At(8082));
            client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8);
            if (i % 2 == 0)
            {
                await Task.Delay(20); // let the response arrive unread: closing then resets
            }

            client.LingerState = new LingerOption(true, 0);
        }

        var stopping = Stopwatch.StartNew();
        await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await app.DisposeAsync();
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"Kestrel took {stopping.Elapsed} to stop");
    }

    [Fact]
    public async Task Kestrel_PortInUseOnTheStack_FailsToStart()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket squatter = h.Listen(8081);
        await Assert.ThrowsAnyAsync<IOException>(() => StartWebApp(h.Host, 8081));
    }

    [Fact]
    public async Task StackNetworkStream_ReadsAndWrites_DisposeClosesOwnedSocket()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(300);
        await using var stream = new StackNetworkStream(client, ownsSocket: true);
        await stream.WriteAsync("stream"u8.ToArray());
        var buffer = new byte[6];
        Assert.Equal(6, server.Receive(buffer, StackSocketFlags.WaitAll));
        server.Send("back"u8);
        var got = new byte[4];
        await stream.ReadExactlyAsync(got);
        Assert.Equal("back"u8.ToArray(), got);
        await stream.DisposeAsync();
        Assert.Equal(0, server.Receive(buffer)); // FIN from the owned socket's close
        Assert.Throws<ObjectDisposedException>(() => client.Send("x"u8));
    }

    [Fact]
    public async Task StackDuplexPipe_OneFlushSpanningSeveralPipeBlocks_ArrivesWholeAndInOrder()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(302);
        await using var pipe = new StackDuplexPipe(client);
        var data = new byte[10_000]; // the pipe's blocks are 4 KiB: three sends, the first two with MSG_MORE
        new Random(302).NextBytes(data);

        await pipe.Output.WriteAsync(data);

        var got = new byte[data.Length];
        server.ReceiveTimeout = 10_000;
        Assert.Equal(data.Length, server.Receive(got, StackSocketFlags.WaitAll));
        Assert.Equal(data, got);
    }

    [Fact]
    public async Task StackDuplexPipe_CompletingOutputSendsFin_InputReadsPeerData()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(301);
        await using var pipe = new StackDuplexPipe(client);
        await pipe.Output.WriteAsync("via pipelines"u8.ToArray());
        await pipe.Output.CompleteAsync();
        var buffer = new byte[64];
        Assert.Equal(13, server.Receive(buffer, StackSocketFlags.WaitAll));
        Assert.Equal(0, server.Receive(buffer)); // the writer's completion was a FIN
        server.Send("reply"u8);
        server.Shutdown(SocketShutdown.Send);
        System.IO.Pipelines.ReadResult result;
        do
        {
            result = await pipe.Input.ReadAsync();
            if (!result.IsCompleted)
            {
                pipe.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        while (!result.IsCompleted);
        Assert.Equal("reply"u8.ToArray(), result.Buffer.ToArray());
        pipe.Input.AdvanceTo(result.Buffer.End);
    }
}
