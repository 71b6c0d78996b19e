namespace TunStack.Cli;

/// <summary>
/// Port names from /etc/services ("7/tcp" is echo), as ss shows ports unless -n is given. Read once;
/// a system without the file shows numbers.
/// </summary>
public static class ServiceNames
{
    private static readonly Lazy<Dictionary<(int Port, string Protocol), string>> s_names = new(() => Read("/etc/services"));

    /// <summary>The name of <paramref name="port"/> for "tcp" or "udp", or its number.</summary>
    public static string Name(int port, string protocol)
        => s_names.Value.TryGetValue((port, protocol), out string? name) ? name : port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads a services file: "name port/protocol [aliases] [# comment]"; the first name of a port wins.</summary>
    public static Dictionary<(int Port, string Protocol), string> Read(string path)
    {
        var names = new Dictionary<(int, string), string>();
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                string[] words = line.Split('#')[0].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                string[] portAndProtocol = words.Length >= 2 ? words[1].Split('/') : [];
                if (portAndProtocol.Length == 2 && int.TryParse(portAndProtocol[0], System.Globalization.CultureInfo.InvariantCulture, out int port))
                {
                    names.TryAdd((port, portAndProtocol[1]), words[0]);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No services file: numbers it is.
        }

        return names;
    }
}
