using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Udp;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack nc</c>: netcat over the user-space stack on its own TUN. Connect mode
/// <c>nc [-u] HOST PORT</c>, listen mode <c>nc -l [-u] PORT</c>; standard input goes to the peer
/// and what the peer sends goes to standard output. TCP: the end of standard input sends FIN and
/// nc exits once the peer has closed too. UDP: each read of standard input is one datagram; a
/// listener waits for its first datagram (whose sender becomes the peer) however long that takes;
/// after standard input ends, nc quits once the peer has been quiet for -q seconds (default 1 when
/// connecting; a listener, like netcat's, waits until interrupted unless -q is given).
/// </summary>
public static class NcCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error) => Create(Console.OpenStandardInput, Console.OpenStandardOutput, error);

    /// <summary>Creates the command with the given standard streams (for tests).</summary>
    public static Command Create(Func<Stream> stdin, Func<Stream> stdout, TextWriter error)
    {
        var tunOptions = new TunCommandOptions();
        var udp = new Option<bool>("-u", "--udp") { Description = "UDP (datagrams) instead of TCP." };
        var listen = new Option<bool>("-l", "--listen") { Description = "Listen on PORT instead of connecting." };
        var quitAfter = new Option<double>("--quit-after", "-q") { Description = "UDP: after standard input ends, quit once the peer has been quiet this many seconds; negative: never (default 1 when connecting; when listening, never)." }.Number();
        var targets = new Argument<string[]>("target") { Description = "HOST PORT (connect) or PORT (listen).", Arity = new ArgumentArity(1, 2) };
        var command = new Command("nc", "netcat over the user-space stack on its own TUN (TCP, or UDP with -u).") { udp, listen, quitAfter, targets };
        tunOptions.AddTo(command);
        command.SetAction(result =>
        {
            string? problem = tunOptions.Bind(result, out TunSettings settings) ?? settings.Validate(withServices: false);
            string[] words = result.GetValue(targets)!;
            bool isListen = result.GetValue(listen);
            InternetEndpoint remote = default;
            ushort port = 0;
            if (problem is null)
            {
                problem = isListen
                    ? words.Length != 1 ? "listen mode takes one argument: PORT" : ParsePort(words[0], out port)
                    : words.Length != 2 ? "connect mode takes two arguments: HOST PORT" : ParseRemote(words[0], words[1], out remote);
            }

            if (problem is not null)
            {
                error.WriteLine($"tunstack: {problem}");
                return 2;
            }

            double seconds = result.GetResult(quitAfter) is null ? (isListen ? -1 : 1) : result.GetValue(quitAfter);
            return result.GetValue(udp)
                ? RunUdp(settings, isListen, remote, port, seconds < 0 ? null : TimeSpan.FromSeconds(seconds), stdin(), stdout(), error)
                : RunTcp(settings, isListen, remote, port, stdin(), stdout(), error);
        });
        return command;
    }

    private static string? ParsePort(string text, out ushort port)
    {
        port = 0;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
        {
            return $"port '{text}' is out of range (1-65535)";
        }

        port = (ushort)p;
        return null;
    }

    private static string? ParseRemote(string host, string portText, out InternetEndpoint remote)
    {
        remote = default;
        if (!InternetAddress.TryParse(host, out InternetAddress address))
        {
            return $"'{host}' is not an IPv4 or IPv6 address";
        }

        string? problem = ParsePort(portText, out ushort port);
        remote = new InternetEndpoint(address, port);
        return problem;
    }

    /// <summary>
    /// Runs UDP netcat; returns 0, or 1 on a setup failure or a refused connection (2 when the
    /// settings conflict with the namespace). <paramref name="quitAfter"/> is how long the peer
    /// must be quiet after standard input ends; null waits until interrupted.
    /// </summary>
    public static int RunUdp(TunSettings settings, bool listen, InternetEndpoint remote, ushort port, TimeSpan? quitAfter, Stream input, Stream output, TextWriter error)
    {
        int started = TunSession.StartCommand(settings, error, out TunSession? session);
        if (started != 0)
        {
            return started;
        }

        CancellationToken interrupted = session!.Stopping;
        using (session)
        {
            using var peerKnown = new ManualResetEventSlim(!listen);
            long lastActivity = Environment.TickCount64;
            StackError failure = StackError.None;
            UdpEndpoint endpoint = session.Runner.InvokeAsync(stack =>
            {
                UdpEndpoint e = stack.OpenUdp(AddressFamily.InterNetworkV6);
                var buffer = new byte[65536];
                e.Readable = () =>
                {
                    while (e.TryReceiveFrom(buffer, out int n, out _, out InternetEndpoint from))
                    {
                        if (listen && e.RemoteEndpoint is null)
                        {
                            // Like nc -l -u: the first sender becomes the peer.
                            e.Connect(from);
                            peerKnown.Set();
                        }

                        output.Write(buffer, 0, n);
                        output.Flush();
                        Interlocked.Exchange(ref lastActivity, Environment.TickCount64);
                    }
                };
                e.ErrorRaised = () => failure = e.TakePendingError();
                StackError bound = listen ? e.Bind(new InternetEndpoint(InternetAddress.AnyV6, port)) : e.Connect(remote);
                if (bound != StackError.None)
                {
                    failure = bound;
                }

                return e;
            }).GetAwaiter().GetResult();

            if (failure != StackError.None)
            {
                error.WriteLine($"tunstack: nc: {Describe(failure)}");
                return 1;
            }

            var chunk = new byte[65507];
            int n;
            while ((n = ReadInput(input, chunk, interrupted)) > 0)
            {
                if (!WaitUntil(peerKnown, interrupted))
                {
                    return 0;
                }

                byte[] datagram = chunk[..n];
                StackError sent = session.Runner.InvokeAsync(_ => endpoint.SendTo(datagram)).GetAwaiter().GetResult();
                if (sent != StackError.None)
                {
                    error.WriteLine($"tunstack: nc: {Describe(sent)}");
                    return 1;
                }

                Interlocked.Exchange(ref lastActivity, Environment.TickCount64);
            }

            // Standard input ended. A listener waits for its peer first, however long that takes;
            // then nc waits until the peer has been quiet for the grace period (or until stopped),
            // unless an ICMP error ends it sooner.
            if (!WaitUntil(peerKnown, interrupted))
            {
                return 0;
            }

            while (!interrupted.WaitHandle.WaitOne(20)
                   && (quitAfter is not { } grace || Environment.TickCount64 - Interlocked.Read(ref lastActivity) < grace.TotalMilliseconds)
                   && session.Runner.InvokeAsync(_ => failure).GetAwaiter().GetResult() == StackError.None)
            {
            }

            StackError late = session.Runner.InvokeAsync(_ => failure).GetAwaiter().GetResult();
            if (late != StackError.None)
            {
                error.WriteLine($"tunstack: nc: {Describe(late)}");
                return 1;
            }

            return 0;
        }
    }

    /// <summary>Runs TCP netcat; returns 0 after both directions ended cleanly, 1 on a failure or reset.</summary>
    public static int RunTcp(TunSettings settings, bool listen, InternetEndpoint remote, ushort port, Stream input, Stream output, TextWriter error)
    {
        int started = TunSession.StartCommand(settings, error, out TunSession? session);
        if (started != 0)
        {
            return started;
        }

        CancellationToken interrupted = session!.Stopping;
        using (session)
        {
            var connected = new TaskCompletionSource<TcpConnectionHandle>(TaskCreationOptions.RunContinuationsAsynchronously);
            var done = new TaskCompletionSource<StackError>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var writable = new SemaphoreSlim(0);
            StackError setup = session.Runner.InvokeAsync(stack =>
            {
                void Attach(TcpConnection c)
                {
                    var buffer = new byte[65536];
                    c.Readable = () =>
                    {
                        int n;
                        StackError e;
                        while ((n = c.Receive(buffer, out e)) > 0)
                        {
                            output.Write(buffer, 0, n);
                        }

                        output.Flush();
                        // None after the data is end of stream; anything but WouldBlock ends the session.
                        if (e != StackError.WouldBlock)
                        {
                            done.TrySetResult(e);
                        }
                    };
                    c.Writable = () => writable.Release();
                    c.StateChanged = state =>
                    {
                        if (state == TcpConnectionState.Established)
                        {
                            connected.TrySetResult(new TcpConnectionHandle(c));
                        }
                        else if (state == TcpConnectionState.Closed && c.Error != StackError.None)
                        {
                            connected.TrySetException(new IOException(Describe(c.Error)));
                            done.TrySetResult(c.Error);
                        }
                    };
                }

                if (listen)
                {
                    TunStack.Tcp.TcpAcceptor? listener = stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV6, port), 1, out StackError e);
                    if (listener is null)
                    {
                        return e;
                    }

                    listener.Readable = () =>
                    {
                        if (listener.TryAccept(out TcpConnection? c))
                        {
                            Attach(c!);
                            listener.Close();
                            connected.TrySetResult(new TcpConnectionHandle(c!));
                        }
                    };
                    return StackError.None;
                }

                TcpConnection? connection = stack.ConnectTcp(remote, out StackError error);
                if (connection is not null)
                {
                    Attach(connection);
                }

                return error;
            }).GetAwaiter().GetResult();
            if (setup != StackError.None)
            {
                error.WriteLine($"tunstack: nc: {Describe(setup)}");
                return 1;
            }

            TcpConnection conn;
            try
            {
                conn = connected.Task.WaitAsync(interrupted).GetAwaiter().GetResult().Connection;
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                error.WriteLine($"tunstack: nc: {e.Message}");
                return 1;
            }

            // Standard input to the peer, as fast as the send buffer takes it; FIN at its end.
            var chunk = new byte[64 * 1024];
            while (!interrupted.IsCancellationRequested && !done.Task.IsCompleted)
            {
                int n = ReadInput(input, chunk, interrupted);
                if (n < 0)
                {
                    break;
                }

                if (n == 0)
                {
                    session.Runner.InvokeAsync(_ =>
                    {
                        conn.Shutdown();
                        return 0;
                    }).GetAwaiter().GetResult();
                    break;
                }

                int offset = 0;
                while (offset < n && !done.Task.IsCompleted)
                {
                    int start = offset;
                    (int taken, StackError e) = session.Runner.InvokeAsync(_ => (conn.Send(chunk.AsSpan(start, n - start), out StackError se), se)).GetAwaiter().GetResult();
                    if (e != StackError.None)
                    {
                        error.WriteLine($"tunstack: nc: {Describe(e)}");
                        return 1;
                    }

                    offset += taken;
                    if (taken == 0)
                    {
                        writable.Wait(100);
                    }
                }
            }

            StackError result = done.Task.WaitAsync(interrupted).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : StackError.None).GetAwaiter().GetResult();
            if (result != StackError.None)
            {
                error.WriteLine($"tunstack: nc: {Describe(result)}");
                return 1;
            }

            return 0;
        }
    }

    private sealed record TcpConnectionHandle(TcpConnection Connection);

    // One read of standard input that a stop signal interrupts: the byte count, 0 at its end, -1 when stopped.
    private static int ReadInput(Stream input, byte[] buffer, CancellationToken interrupted)
    {
        try
        {
            return input.ReadAsync(buffer, interrupted).AsTask().WaitAsync(interrupted).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return -1;
        }
    }

    // Waits for the event; false when a stop signal came first.
    private static bool WaitUntil(ManualResetEventSlim ready, CancellationToken interrupted)
    {
        try
        {
            ready.Wait(interrupted);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string Describe(StackError error) => error switch
    {
        StackError.ConnectionRefused => "connection refused",
        StackError.ConnectionReset => "connection reset by peer",
        StackError.BrokenPipe => "broken pipe (reset by the peer after its FIN)",
        StackError.TimedOut => "connection timed out",
        StackError.NetworkUnreachable => "network unreachable (no route)",
        StackError.HostUnreachable => "host unreachable",
        StackError.AddressInUse => "address in use",
        StackError.MessageTooLong => "message too long",
        _ => error.ToString(),
    };
}
