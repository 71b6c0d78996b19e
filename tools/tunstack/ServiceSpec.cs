using System.Globalization;

namespace TunStack.Cli;

/// <summary>A built-in service and its port.</summary>
/// <param name="Name">echo, discard, daytime or chargen.</param>
/// <param name="Port">The port it listens on.</param>
public sealed record ServiceSpec(string Name, ushort Port)
{
    /// <summary>The services and their well-known ports (RFC 862, 863, 867, 864).</summary>
    public static readonly IReadOnlyDictionary<string, ushort> WellKnown = new Dictionary<string, ushort>
    {
        ["echo"] = 7,
        ["discard"] = 9,
        ["daytime"] = 13,
        ["chargen"] = 19,
        ["http"] = 80,
    };

    /// <summary>Services that are TCP only (served by ASP.NET Core through the stack).</summary>
    public static bool IsHttp(string name) => name == "http";

    /// <summary>Parses "echo,discard=9009,chargen"; returns the problem or null.</summary>
    public static string? TryParseList(string text, List<ServiceSpec> into)
    {
        foreach (string item in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] parts = item.Split('=', 2);
            string name = parts[0].ToLowerInvariant();
            if (!WellKnown.TryGetValue(name, out ushort port))
            {
                return $"unknown service '{parts[0]}' (echo, discard, daytime, chargen, http)";
            }

            if (parts.Length == 2)
            {
                if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
                {
                    return $"port '{parts[1]}' for {name} is out of range (1-65535)";
                }

                port = (ushort)p;
            }

            if (into.Any(s => s.Port == port))
            {
                return $"port {port} is given to two services";
            }

            into.Add(new ServiceSpec(name, port));
        }

        return null;
    }
}
