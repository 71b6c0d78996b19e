using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace TunStack.Cli;

/// <summary>
/// The client side of the control socket (see <see cref="ControlServer"/>), for <c>tunstack ss</c>,
/// <c>stats</c> and <c>status</c>: finds the running daemon (the only one, or the one --name
/// names), sends one request line and prints the answer. Exit codes: 0 answered; 1 no daemon (or
/// none of that --name) is running, or it refused or failed the request; 2 a bad option, or
/// several daemons running and no --name to choose one.
/// </summary>
public static class ControlClient
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    /// <summary>The --name option: a daemon's name (its socket's file name without .sock) or its socket's path.</summary>
    public static Option<string> CreateNameOption() => new("--name")
    {
        Description = "The daemon to ask: its name (the --netns name, else its TUN's; 'tunstack status' lists them) or its control socket's path. Not needed when one daemon runs.",
    };

    /// <summary>The daemons whose sockets are in <paramref name="directories"/> and answer a connect (a socket refusing it is left over from a killed daemon).</summary>
    public static IReadOnlyList<(string Name, string Path)> FindRunning(IEnumerable<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var running = new List<(string Name, string Path)>();
        foreach (string directory in directories.Where(Directory.Exists))
        {
            string[] sockets;
            try
            {
                sockets = Directory.GetFiles(directory, "*" + ControlPaths.Suffix);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (string path in sockets.Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileNameWithoutExtension(path);
                if (running.All(r => r.Name != name) && Answers(path))
                {
                    running.Add((name, path));
                }
            }
        }

        return running;
    }

    /// <summary>
    /// Sends <paramref name="request"/> to the socket at <paramref name="path"/>; returns null and the
    /// answer's lines, or a one-line reason it got none (the server's "error ..." included).
    /// </summary>
    public static string? Ask(string path, string request, out IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(request);
        lines = [];
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)s_timeout.TotalMilliseconds, SendTimeout = (int)s_timeout.TotalMilliseconds };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            try
            {
                socket.Send(Encoding.UTF8.GetBytes(request + "\n"));
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset)
            {
                // A daemon that refuses this user answers and closes without reading: its line is still there to read.
            }

            using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? header = reader.ReadLine();
            if (header is null)
            {
                return "the daemon closed the connection without an answer";
            }

            if (header.StartsWith("error ", StringComparison.Ordinal))
            {
                return header["error ".Length..];
            }

            string[] words = header.Split(' ');
            if (words.Length != 2 || words[0] != "ok" || !int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            {
                return $"the daemon answered '{header}', which is not 'ok N' or 'error REASON'";
            }

            var body = new List<string>(count);
            for (int i = 0; i < count; i++)
            {
                if (reader.ReadLine() is not { } line)
                {
                    return $"the answer ended after {i} of its {count} lines";
                }

                body.Add(line);
            }

            lines = body;
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            return $"cannot connect to {path}: permission denied (the daemon runs as another user: run this as root or as that user)";
        }
        catch (SocketException e)
        {
            return $"cannot connect to {path}: {e.Message}";
        }
        catch (IOException e)
        {
            return $"no answer from {path}: {e.Message}";
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> to the daemon <paramref name="name"/> names (or the only one
    /// running) and prints the answer's lines to <paramref name="output"/>. Returns 0; 1 when no
    /// daemon answers or it answers an error; 2 for an ambiguous choice. Problems go to
    /// <paramref name="error"/> as one line.
    /// </summary>
    public static int Run(string? name, string request, IReadOnlyList<string> directories, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (Resolve(name, directories, error, out string path, out string label) is { } code)
        {
            return code;
        }

        if (Ask(path, request, out IReadOnlyList<string> lines) is { } problem)
        {
            error.WriteLine($"tunstack: {label}: {problem}");
            return 1;
        }

        foreach (string line in lines)
        {
            output.WriteLine(line);
        }

        return 0;
    }

    /// <summary>
    /// Sends a streaming <paramref name="request"/> (the daemon answers "ok stream", lines, and
    /// "end REASON") and writes each line to <paramref name="output"/> as it comes, until the end,
    /// the daemon closing, or <paramref name="cancel"/>. Exit codes as <see cref="Run"/>.
    /// </summary>
    public static int Follow(string? name, string request, IReadOnlyList<string> directories, TextWriter output, TextWriter error, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(output);
        if (Resolve(name, directories, error, out string path, out string label) is { } code)
        {
            return code;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using CancellationTokenRegistration closing = cancel.Register(() => socket.Dispose());
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(request + "\n"));
            using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? header = reader.ReadLine();
            if (header is null || header.StartsWith("error ", StringComparison.Ordinal) || header != "ok stream")
            {
                error.WriteLine($"tunstack: {label}: {(header is null ? "the daemon closed the connection without an answer" : header.StartsWith("error ", StringComparison.Ordinal) ? header["error ".Length..] : $"the daemon answered '{header}', which is not 'ok stream'")}");
                return 1;
            }

            while (reader.ReadLine() is { } line)
            {
                if (line.StartsWith("end ", StringComparison.Ordinal))
                {
                    return 0;
                }

                output.WriteLine(line);
                output.Flush();
            }

            error.WriteLine($"tunstack: {label}: the daemon closed the stream before its end");
            return 1;
        }
        catch (Exception e) when (cancel.IsCancellationRequested && e is SocketException or IOException or ObjectDisposedException)
        {
            return 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            error.WriteLine($"tunstack: {label}: cannot connect to {path}: permission denied (the daemon runs as another user: run this as root or as that user)");
            return 1;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            error.WriteLine($"tunstack: {label}: {e.Message}");
            return 1;
        }
    }

    // The control socket to use: the path given, or the running daemon's with that name (or the only one).
    private static int? Resolve(string? name, IReadOnlyList<string> directories, TextWriter error, out string path, out string label)
    {
        ArgumentNullException.ThrowIfNull(directories);
        ArgumentNullException.ThrowIfNull(error);
        path = label = string.Empty;
        if (name is not null && name.Contains('/', StringComparison.Ordinal))
        {
            (path, label) = (name, name);
            return null;
        }

        IReadOnlyList<(string Name, string Path)> running = FindRunning(directories);
        string names = string.Join(", ", running.Select(r => r.Name));
        if (running.Count == 0)
        {
            error.WriteLine($"tunstack: {(name is null ? "no tunstack daemon" : $"no daemon named '{name}'")} is running (no control socket answers in {string.Join(" or ", directories)})");
            return 1;
        }

        if (name is null && running.Count > 1)
        {
            error.WriteLine($"tunstack: {running.Count} daemons are running: {names}; choose one with --name");
            return 2;
        }

        (string Name, string Path) chosen = name is null ? running[0] : running.FirstOrDefault(r => r.Name == name);
        if (chosen.Path is null)
        {
            error.WriteLine($"tunstack: --name: no daemon named '{name}' is running; running: {names}");
            return 1;
        }

        (path, label) = (chosen.Path, chosen.Name);
        return null;
    }

    // A daemon listens there (a connect it refuses for permissions still means one runs).
    private static bool Answers(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.AccessDenied;
        }
    }
}
