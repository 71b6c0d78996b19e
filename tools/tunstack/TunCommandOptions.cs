using System.CommandLine;
using System.Text.Json;

namespace TunStack.Cli;

/// <summary>The command-line options shared by the TUN-backed commands, bound to <see cref="TunSettings"/>.</summary>
public sealed class TunCommandOptions
{
    private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip };

    private readonly Option<string> _tun = new("--tun") { Description = "TUN device: created, or attached to if a persistent one of that name exists (default tunstack0)." };
    private readonly Option<string[]> _address = new("--address") { Description = "The stack's own address with prefix, repeatable (default 10.77.0.2/24 and fd77::2/64).", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _peer = new("--peer") { Description = "The kernel's address on the TUN, one per family (default: the first host of the stack's prefix)." };
    private readonly Option<string[]> _route = new("--route") { Description = "A route, 'CIDR' or 'CIDR via GATEWAY', repeatable (default: everything through the TUN)." };
    private readonly Option<int> _mtu = new("--mtu") { Description = "MTU, 1280-65535 (default 1500)." };
    private readonly Option<string> _netns = new("--netns") { Description = "Network namespace to run in; created if missing and then removed on exit." };
    private readonly Option<string> _capture = new("--capture") { Description = "Write every packet on the TUN as pcapng." };
    private readonly Option<FileInfo> _config = new("--config") { Description = "JSON file with the same settings (command-line options win)." };
    private readonly Option<string> _logLevel = new("--log-level") { Description = "error, warn, info (default) or debug." };
    private readonly Option<bool> _disableIpv6 = new("--disable-kernel-ipv6") { Description = "Disable IPv6 on the kernel side of the TUN." };
    private readonly Option<int> _queues = new("--queues") { Description = "TUN queues (IFF_MULTI_QUEUE when more than 1; default 1)." };
    private readonly Option<bool> _vnetHdr = new("--vnet-hdr") { Description = "Open the TUN with a virtio-net header (IFF_VNET_HDR)." };
    private readonly Option<string> _impair = new("--impair") { Description = "Impair both directions: loss=1%,delay=10ms,jitter=2ms,reorder=5%,dup=1%,corrupt=0.1%,rate=100mbit,seed=N (reproducible from the seed)." };
    private readonly Option<string> _impairIn = new("--impair-in") { Description = "Impair only what the stack receives (same syntax as --impair)." };
    private readonly Option<string> _impairOut = new("--impair-out") { Description = "Impair only what the stack sends (same syntax as --impair)." };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _tun, _address, _peer, _route, _mtu, _netns, _capture, _config, _logLevel, _disableIpv6, _queues, _vnetHdr, _impair, _impairIn, _impairOut })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Reads the settings (config file first, then explicit options); returns a one-line problem or null.</summary>
    public string? Bind(ParseResult result, out TunSettings settings)
    {
        settings = new TunSettings();
        if (result.GetValue(_config) is { } file)
        {
            try
            {
                settings = JsonSerializer.Deserialize<TunSettings>(File.ReadAllText(file.FullName), s_json)
                    ?? new TunSettings();
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                return $"--config {file.FullName}: {e.Message.Split('\n')[0]}";
            }
        }

        TunSettings loaded = settings; // the lambdas cannot capture an out parameter
        Override(result, _tun, value => loaded.Tun = value);
        Override(result, _address, value => loaded.Addresses = value.ToList());
        Override(result, _peer, value => loaded.Peers = value.ToList());
        Override(result, _route, value => loaded.Routes = value.ToList());
        Override(result, _mtu, value => loaded.Mtu = value);
        Override(result, _netns, value => loaded.Netns = value);
        Override(result, _capture, value => loaded.Capture = value);
        Override(result, _logLevel, value => loaded.LogLevel = value);
        Override(result, _queues, value => loaded.Queues = value);
        Override(result, _impair, value => loaded.Impair = value);
        Override(result, _impairIn, value => loaded.ImpairIn = value);
        Override(result, _impairOut, value => loaded.ImpairOut = value);
        settings.DisableKernelIpv6 |= result.GetValue(_disableIpv6);
        settings.VnetHdr |= result.GetValue(_vnetHdr);
        return null;
    }

    // An option given on the command line wins over the config file's value.
    private static void Override<T>(ParseResult result, Option<T> option, Action<T> set)
    {
        if (result.GetResult(option) is not null)
        {
            set(result.GetValue(option)!);
        }
    }
}
