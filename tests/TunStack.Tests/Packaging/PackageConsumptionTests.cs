using System.IO.Compression;
using System.Xml.Linq;

namespace TunStack.Tests.Packaging;

/// <summary>
/// TunStack as its users get it: the packages `dotnet pack Stack.sln -o FOLDER` writes, an app
/// outside the repository that references TunStack.Sockets from that folder and nothing of the
/// source tree, and the tunstack tool installed from the folder into a tool path.
/// </summary>
[Collection(nameof(Cli.DotnetSdkRuns))]
public sealed class PackageConsumptionTests : IClassFixture<PackedSolution>
{
    private static readonly string[] Libraries = ["TunStack.Core", "TunStack.Tun", "TunStack.Sockets", "TunStack.Sockets.AspNetCore", "TunStack.Lab"];

    private readonly PackedSolution _packed;

    public PackageConsumptionTests(PackedSolution packed) => _packed = packed;

    [Fact]
    public void PackedSolution_EveryPackage_HasTheOneVersionAndNothingElseIsPacked()
    {
        string[] packages = Directory.GetFiles(_packed.Feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        string[] expected = Libraries.Append("tunstack").Select(id => $"{id}.{_packed.Version}.nupkg").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, packages);
    }

    [Fact]
    public void PackedLibrary_Each_CarriesItsReadmeXmlDocsLicenseAndRepository()
    {
        foreach (string id in Libraries)
        {
            using ZipArchive package = ZipFile.OpenRead(Path.Combine(_packed.Feed, $"{id}.{_packed.Version}.nupkg"));
            XElement metadata = Nuspec(package, id);
            XNamespace ns = metadata.Name.Namespace;
            Assert.Equal(_packed.Version, metadata.Element(ns + "version")!.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("git", metadata.Element(ns + "repository")?.Attribute("type")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value), $"{id} has no description");
            Assert.NotNull(package.GetEntry("README.md"));
            Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.xml"));
        }
    }

    [Fact]
    public void AppOutsideTheRepository_ReferencingTheSocketsPackage_EchoesOverTcpBetweenTwoStacks()
    {
        File.WriteAllText(Path.Combine(_packed.App, "EchoApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TunStack.Sockets" Version="{_packed.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_packed.App, "Program.cs"), EchoProgram);

        _packed.Run(_packed.App, "dotnet", "build", "-c", "Release", "-nologo", "-v", "quiet", "-nodeReuse:false");
        string output = _packed.Run(_packed.App, "dotnet", Path.Combine(_packed.App, "bin", "Release", "net10.0", "EchoApp.dll"));

        Assert.Equal($"TunStack.Sockets {_packed.Version}: \"hello through the packages\" echoed by 10.5.0.2:7", output.Trim());
        // The libraries came from the feed, through this folder's own package cache.
        foreach (string id in new[] { "TunStack.Sockets", "TunStack.Core", "TunStack.Tun" })
        {
            Assert.True(Directory.Exists(Path.Combine(_packed.Packages, id.ToLowerInvariant(), _packed.Version)), $"{id} {_packed.Version} was not restored from {_packed.Feed}");
        }
    }

    [Fact]
    public void ToolPackage_InstalledIntoAToolPath_RunsTheDemo()
    {
        string tools = Path.Combine(_packed.Directory, "tools");
        _packed.Run(_packed.Directory, "dotnet", "tool", "install", "--tool-path", tools, "--add-source", _packed.Feed, "--version", _packed.Version, "tunstack");

        string output = _packed.Run(_packed.Directory, Path.Combine(tools, "tunstack"), "demo");

        Assert.Contains("64 bytes from 10.99.0.2: icmp_seq=1", output);
        Assert.Contains("demo: every exchange worked", output);
    }

    private static XElement Nuspec(ZipArchive package, string id)
    {
        using Stream nuspec = package.GetEntry($"{id}.nuspec")!.Open();
        XElement root = XDocument.Load(nuspec).Root!;
        return root.Element(root.Name.Namespace + "metadata")!;
    }

    // Two stacks in one process, joined by an in-memory wire, each on a thread of its own: A
    // connects to an echo server on B and prints what came back.
    private const string EchoProgram = """
        using System.Net;
        using System.Net.Sockets;
        using System.Reflection;
        using System.Text;
        using TunStack;
        using TunStack.Ip;
        using TunStack.Links;
        using TunStack.Sockets;

        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair();
        var optionsA = new StackOptions();
        optionsA.Addresses.Add(IpPrefix.Parse("10.5.0.1/24"));
        var optionsB = new StackOptions();
        optionsB.Addresses.Add(IpPrefix.Parse("10.5.0.2/24"));
        using StackHost a = StackHost.Start(wireA, optionsA);
        using StackHost b = StackHost.Start(wireB, optionsB);

        using StackSocket listener = b.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, 7));
        listener.Listen(1);
        using StackSocket client = a.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Parse("10.5.0.2"), 7));
        using StackSocket server = listener.Accept();

        byte[] message = Encoding.ASCII.GetBytes("hello through the packages");
        client.Send(message);
        var received = new byte[message.Length];
        server.Receive(received, StackSocketFlags.WaitAll);
        server.Send(received);
        var echoed = new byte[message.Length];
        client.Receive(echoed, StackSocketFlags.WaitAll);

        string version = typeof(StackHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        Console.WriteLine($"TunStack.Sockets {version}: \"{Encoding.ASCII.GetString(echoed)}\" echoed by {client.RemoteEndPoint}");
        return 0;
        """;
}
