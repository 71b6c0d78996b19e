// ASP.NET Core and HttpClient over the user-space stack through a real TUN, in namespaces the
// tests create; the kernel side's curl, wrk and Python's http.server are the judges.
using TunStack.Ip;
using TunStack.Sockets;
using TunStack.Tun;

namespace TunStack.Tests.Tun;

public class HttpThroughTunTests
{
    [SkippableFact]
    public void Curl_Http11AndH2cPriorKnowledge_ToKestrelOverTheStack_V4AndV6()
    {
        TunRequirements.Require(("curl", "curl"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "http,echo");
        Assert.Contains("http:80 (HTTP/1.1 and h2c)", daemon.Output);

        (int code, string page, string errors) = ns.Exec("curl", "-sS", "--max-time", "20", "-w", "\n%{http_version} %{http_code}", "http://10.77.0.2/");
        Assert.True(code == 0, errors);
        Assert.Contains("<h1>TunStack</h1>", page);
        Assert.EndsWith("1.1 200", page.Trim());

        (code, string json, errors) = ns.Exec("curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", "http://10.77.0.2/api/stats");
        Assert.True(code == 0, errors);
        Assert.EndsWith("2 200", json.Trim());
        string body = json[..json.LastIndexOf('\n')];
        using var document = System.Text.Json.JsonDocument.Parse(body);
        Assert.True(document.RootElement.GetProperty("counters").GetProperty("TcpEstablished").GetInt64() >= 2);
        Assert.Contains(document.RootElement.GetProperty("connections").EnumerateArray(), c => c.GetProperty("remote").GetString()!.StartsWith("10.77.0.1:", StringComparison.Ordinal));

        (code, string v6, errors) = ns.Exec("curl", "-sS", "--max-time", "20", "-g", "--http2-prior-knowledge", "http://[fd77::2]/api/stats");
        Assert.True(code == 0, errors);
        Assert.Contains("\"addresses\"", v6);
        Assert.Equal(0, daemon.Terminate());
    }

    [SkippableFact]
    public void Wrk_200Connections5Seconds_AgainstKestrelOverTheStack_NoSocketErrors()
    {
        TunRequirements.Require(("wrk", "wrk"));
        using TestNamespace ns = TestNamespace.Create();
        using TunstackProcess daemon = TunstackProcess.StartDaemon(ns.Name, "--serve", "http");
        (int code, string output, string errors) = ns.Exec("wrk", "-t", "2", "-c", "200", "-d", "5s", "--timeout", "5s", "http://10.77.0.2/api/stats");
        Assert.True(code == 0, errors);
        Console.WriteLine(output);
        Assert.DoesNotContain("Socket errors", output);
        Assert.DoesNotContain("Non-2xx", output);
        Assert.Matches(@"(\d+) requests in", output);
        long requests = long.Parse(System.Text.RegularExpressions.Regex.Match(output, @"(\d+) requests in").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(requests > 1000, output);
        Assert.Equal(0, daemon.Terminate());
    }

    [SkippableFact]
    public async Task EmbeddedAppExample_OnTunInItsOwnNamespace_ServesAndFetches_RemovesNamespace()
    {
        TunRequirements.Require();
        Assert.Equal("hello 10.60.0.2 over HTTP/1.1", await Examples.EmbeddedApp.RunOnTunAsync());
        Assert.False(TestNamespace.Exists("embedded-app"));
    }

    [SkippableFact]
    public async Task EmbeddedHost_HttpClientThroughTheStack_ToPythonHttpServerOnKernelSide()
    {
        TunRequirements.Require();
        string netns = TestNamespace.NewName();
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.78.0.2/24"));
        var tun = new TunInterfaceOptions
        {
            Device = new TunOptions { Name = "tstk-http" },
            KernelAddresses = new[] { IpPrefix.Parse("10.78.0.1/24") },
            Namespace = netns,
            DisableKernelIpv6 = true,
        };
        using StackHost host = StackHost.StartOnTun(tun, options);
        try
        {
            string root = Directory.CreateTempSubdirectory("tunstack-http").FullName;
            await File.WriteAllTextAsync(Path.Combine(root, "hello.txt"), "served by the kernel side\n");
            using NamespaceProcess server = NamespaceProcess.Start(netns, "/usr/bin/python3", "-m", "http.server", "8000", "--bind", "10.78.0.1", "--directory", root);
            using var client = new HttpClient(host.CreateHttpHandler()) { Timeout = TimeSpan.FromSeconds(10) };
            string? text = null;
            for (int attempt = 0; attempt < 50 && text is null; attempt++)
            {
                try
                {
                    text = await client.GetStringAsync(new Uri("http://10.78.0.1:8000/hello.txt"));
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200); // the server is still starting
                }
            }

            Assert.Equal("served by the kernel side\n", text);
        }
        finally
        {
            host.Dispose();
            Assert.False(TestNamespace.Exists(netns));
        }
    }
}
