using System.Globalization;
using System.Net.Sockets;
using System.Text;
using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// The daemon's control socket: a Unix stream socket (mode 0600, owned by the daemon's user) that
/// answers <c>tunstack ss</c>, <c>stats</c> and <c>status</c>. One request per connection: the
/// client sends one line ("ss -t -a -i", "stats -z", "status"), the server answers "ok N" and N
/// lines, or one line "error REASON", and closes. A peer whose uid (SO_PEERCRED) is neither the
/// daemon's nor root's gets "error permission denied ..." and nothing else.
/// <para>
/// Nothing here walks the stack from another thread: ss copies the sockets on the stack's thread
/// (<see cref="StackRunner.InvokeAsync{T}"/>, between two polls, as the SIGUSR1 dump does, a slice
/// at a time; see <see cref="SocketTable"/>) and sorts and formats them on the control thread; stats reads the counters, which any thread may; status
/// takes the summary the stack publishes each second (<see cref="SummaryPublisher"/>).
/// </para>
/// </summary>
public sealed class ControlServer : IDisposable
{
    /// <summary>The longest request line read.</summary>
    public const int MaxRequestBytes = 1024;

    private static readonly TimeSpan s_clientTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_stackTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket _listener;
    private readonly StackPartitions _stack;
    private readonly string _name;
    private readonly ConsoleLog _log;
    private readonly uint _owner = ControlPaths.UserId;
    private readonly SummaryPublisher _summary;
    private readonly CounterHistory _history = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly UnhandledExceptionEventHandler _crashHandler;
    private int _disposed;

    private ControlServer(string path, Socket listener, StackPartitions stack, string name, string role, ConsoleLog log)
    {
        Path = path;
        _listener = listener;
        _stack = stack;
        _name = name;
        _log = log;
        _summary = new SummaryPublisher(stack, name, role);

        // A crash ends the process without the daemon's usings: the socket goes with it all the same.
        _crashHandler = (_, _) => Dispose();
        AppDomain.CurrentDomain.UnhandledException += _crashHandler;
        _ = Task.Run(AcceptAsync);
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>
    /// Listens on <paramref name="path"/> for <paramref name="stack"/> (all its partitions), creating its
    /// directory (mode 0755) if missing and replacing a stale socket left by a daemon that was killed.
    /// Throws <see cref="IOException"/> saying why when the socket cannot be made (a live daemon on it included).
    /// </summary>
    public static ControlServer Start(string path, StackPartitions stack, string name, string role, ConsoleLog log)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(log);
        if (!OperatingSystem.IsLinux())
        {
            throw new IOException("a control socket needs Linux (SO_PEERCRED)");
        }

        try
        {
            string directory = System.IO.Path.GetDirectoryName(path)!;
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            }

            if (File.Exists(path))
            {
                using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    probe.Connect(new UnixDomainSocketEndPoint(path));
                    throw new IOException($"{path} is in use by a running tunstack");
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    File.Delete(path); // left by a daemon that did not stop cleanly
                }
            }

            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                listener.Bind(new UnixDomainSocketEndPoint(path));

                // Before listen(): until then a connect is refused, so no one gets in under a wider mode.
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                listener.Listen(16);
            }
            catch
            {
                listener.Dispose();
                throw;
            }

            return new ControlServer(path, listener, stack, name, role, log);
        }
        catch (Exception e) when (e is SocketException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot listen on {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The daemon's control socket as its settings ask (<see cref="TunSettings.Control"/>, see
    /// <see cref="ControlPaths"/>); logs where it listens. Returns false, having printed why to
    /// <paramref name="error"/>, when a socket asked for with --control cannot be made; the default
    /// one failing is a warning, and the daemon runs without it (<paramref name="server"/> null, as with --control none).
    /// </summary>
    public static bool TryStartFor(TunSettings settings, string role, StackPartitions stack, ConsoleLog log, TextWriter error, out ControlServer? server)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(error);
        server = null;
        if (ControlPaths.ForDaemon(settings.Control, settings, out string? path) is { } problem)
        {
            error.WriteLine($"tunstack: {problem}");
            return false;
        }

        if (path is null)
        {
            return true;
        }

        string name = settings.Control is null ? ControlPaths.DefaultName(settings) : System.IO.Path.GetFileNameWithoutExtension(path);
        try
        {
            server = Start(path, stack, name, role, log);
            log.Info($"control: {path} (tunstack ss, stats, status{(settings.Control is null ? string.Empty : $" --name {path}")})");
            return true;
        }
        catch (IOException e) when (settings.Control is null)
        {
            log.Warn($"control: {e.Message}; running without a control socket (--control PATH puts it elsewhere)");
            return true;
        }
        catch (IOException e)
        {
            error.WriteLine($"tunstack: {settings.Label("control")}: {e.Message}");
            return false;
        }
    }

    /// <summary>The answer to one request line from a client with <paramref name="uid"/>: "ok N" and N lines, or "error REASON", each line ending in a newline.</summary>
    public async Task<string> AnswerAsync(string request, uint uid)
    {
        string answer = await AnswerLinesAsync(request, uid).ConfigureAwait(false);
        return answer.EndsWith('\n') ? answer : answer + "\n";
    }

    private async Task<string> AnswerLinesAsync(string request, uint uid)
    {
        ArgumentNullException.ThrowIfNull(request);
        string[] words = request.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return "error empty request (the requests are ss, stats, status and trace)";
        }

        try
        {
            IReadOnlyList<string> lines;
            switch (words[0])
            {
                case "status" when words.Length == 1:
                    lines = [_summary.Current.Format(DateTime.UtcNow)];
                    break;
                case "status":
                    return $"error status: unknown option '{words[1]}' (status takes none)";
                case "stats" when words.Skip(1).All(w => w == "-z"):
                    lines = _history.Report(_stack.Counters, uid, words.Length > 1, _name, DateTime.UtcNow);
                    break;
                case "stats":
                    return $"error stats: unknown option '{words.Skip(1).First(w => w != "-z")}' (the option is -z)";
                case "trace":
                    return "error trace: a trace streams, so it is the only request of its connection (tunstack trace sends it so)";
                case "ss":
                    if (SsOptions.Parse(words.Skip(1), out string? problem) is not { } options)
                    {
                        return $"error {problem}";
                    }

                    IReadOnlyList<SocketEntry> rows = await SocketTable.TakeAsync(_stack, options).WaitAsync(s_stackTimeout).ConfigureAwait(false);
                    lines = SsLayout.Format(rows, options);
                    break;
                default:
                    return $"error unknown request '{words[0]}' (the requests are ss, stats, status and trace)";
            }

            var answer = new StringBuilder().Append(CultureInfo.InvariantCulture, $"ok {lines.Count}\n");
            foreach (string line in lines)
            {
                answer.Append(line).Append('\n');
            }

            return answer.ToString();
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or TimeoutException)
        {
            return "error the stack is not running (stopping, or its loop has ended)";
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.UnhandledException -= _crashHandler;
        _stopping.Cancel();
        _listener.Dispose();
        _summary.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warn($"control: could not remove {Path}: {e.Message}");
        }
    }

    /// <summary>The uid of the process at the other end of <paramref name="client"/> (SO_PEERCRED's struct ucred: pid, uid, gid).</summary>
    public static uint PeerUserId(Socket client)
    {
        ArgumentNullException.ThrowIfNull(client);
        Span<byte> credentials = stackalloc byte[12];
        const int SolSocket = 1, SoPeerCred = 17;
        client.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
        return BitConverter.ToUInt32(credentials[4..8]);
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(s_clientTimeout);
                // The request is read before a refusal too: closing a Unix socket with unread data
                // resets it, and the client would get ECONNRESET instead of the refusal's line.
                uint uid = PeerUserId(client);
                string? request = await ReadLineAsync(client, timeout.Token).ConfigureAwait(false);
                if (uid != _owner && uid != 0)
                {
                    _log.Warn($"control: refused a client with uid {uid}");
                    await SendAsync(client, $"error permission denied: uid {uid} is neither the daemon's ({_owner}) nor root", timeout.Token).ConfigureAwait(false);
                    return;
                }

                if (request is null)
                {
                    return; // connected and left (a client looking for running daemons)
                }

                _log.Debug($"control: uid {uid}: {request}");
                string[] words = request.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (words.Length > 0 && words[0] == "trace")
                {
                    await TraceAsync(client, words[1..], timeout).ConfigureAwait(false);
                    return;
                }

                timeout.CancelAfter(s_stackTimeout + s_clientTimeout);
                await SendAsync(client, await AnswerAsync(request, uid).ConfigureAwait(false), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException or TimeoutException)
            {
                // The client went away or took too long: nothing to answer.
            }
        }
    }

    // A trace streams until it ends, so the request's timeout is lifted once the connection is found.
    private async Task TraceAsync(Socket client, string[] words, CancellationTokenSource timeout)
    {
        if (ConnectionTraceStream.Parse(words, out string selector, out int interval, out int count) is { } problem)
        {
            await SendAsync(client, $"error {problem}", timeout.Token).ConfigureAwait(false);
            return;
        }

        (StackRunner? owner, Tcp.TcpConnection? connection, string? missing) = await ConnectionTraceStream.FindAsync(_stack, selector).WaitAsync(s_stackTimeout, timeout.Token).ConfigureAwait(false);
        if (connection is null)
        {
            await SendAsync(client, $"error {missing}", timeout.Token).ConfigureAwait(false);
            return;
        }

        await ConnectionTraceStream.RunAsync(client, owner!, connection, interval, count, _stopping.Token).ConfigureAwait(false);
    }

    /// <summary>Sends <paramref name="answer"/> whole, ending it in a newline when it does not already.</summary>
    internal static async Task SendAsync(Socket client, string answer, CancellationToken cancel)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(answer.EndsWith('\n') ? answer : answer + "\n");
        for (int sent = 0; sent < bytes.Length;)
        {
            sent += await client.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cancel).ConfigureAwait(false);
        }
    }

    // One line of at most MaxRequestBytes; null when the client closed before sending one.
    private static async Task<string?> ReadLineAsync(Socket client, CancellationToken cancel)
    {
        byte[] buffer = new byte[MaxRequestBytes];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancel).ConfigureAwait(false);
            if (read == 0)
            {
                return length == 0 ? null : Encoding.UTF8.GetString(buffer, 0, length).Trim();
            }

            int newline = Array.IndexOf(buffer, (byte)'\n', length, read);
            length += read;
            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(buffer, 0, newline).Trim();
            }
        }

        return Encoding.UTF8.GetString(buffer, 0, length).Trim();
    }
}
