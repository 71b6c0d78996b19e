using System.CommandLine;
using System.Globalization;
using TunStack.Ip;
using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack ping HOST</c>: ICMP or ICMPv6 echo sent by the user-space stack over its own TUN,
/// with a line per reply and a summary in the form of ping(8).
/// </summary>
public static class PingCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var tunOptions = new TunCommandOptions();
        var host = new Argument<string>("host") { Description = "IPv4 or IPv6 address to ping." };
        var count = new Option<int>("--count", "-c") { Description = "Stop after this many requests (default 4).", DefaultValueFactory = _ => 4 }.Number(1, 1_000_000);
        var interval = new Option<double>("--interval", "-i") { Description = "Seconds between requests (default 1).", DefaultValueFactory = _ => 1.0 }.Number(0.01, 3600.0);
        var size = new Option<int>("--size", "-s") { Description = "Data bytes per request (default 56).", DefaultValueFactory = _ => 56 }.Number(0, 65000);
        var wait = new Option<double>("--timeout", "-W") { Description = "Seconds to wait for the last reply (default 2).", DefaultValueFactory = _ => 2.0 }.Number(0.0, 3600.0);
        var command = new Command("ping", "Send ICMP echo requests from the user-space stack over its own TUN.") { host, count, interval, size, wait };
        tunOptions.AddTo(command);
        command.SetAction(result =>
        {
            string? problem = tunOptions.Bind(result, out TunSettings settings) ?? settings.Validate(withServices: false);
            string target = result.GetValue(host)!;
            if (problem is null && !InternetAddress.TryParse(target, out _))
            {
                problem = $"'{target}' is not an IPv4 or IPv6 address";
            }

            double seconds = result.GetValue(interval);
            double timeout = result.GetValue(wait);
            if (problem is not null)
            {
                error.WriteLine($"tunstack: {problem}");
                return 2;
            }

            return Run(settings, InternetAddress.Parse(target), result.GetValue(count), TimeSpan.FromSeconds(seconds), result.GetValue(size), TimeSpan.FromSeconds(timeout), output, error);
        });
        return command;
    }

    /// <summary>Pings; returns 0 when at least one reply came back, 1 otherwise (as ping(8)).</summary>
    public static int Run(TunSettings settings, InternetAddress target, int count, TimeSpan interval, int size, TimeSpan timeout, TextWriter output, TextWriter error)
    {
        int started = TunSession.StartCommand(settings, error, out TunSession? session);
        if (started != 0)
        {
            return started;
        }

        CancellationToken stopping = session!.Stopping;
        using (session)
        {
            var sent = new Dictionary<ushort, Instant>();
            var rtts = new List<double>();
            var data = new byte[size];
            var replyBuffer = new byte[size + 64];
            var identifier = (ushort)Environment.ProcessId;
            using var replies = new System.Collections.Concurrent.BlockingCollection<string>();
            var answered = new int[1];
            IcmpEchoEndpoint? echo = session.Runner.InvokeAsync(stack => stack.OpenEcho(identifier)).GetAwaiter().GetResult();
            if (echo is null)
            {
                error.WriteLine($"tunstack: echo identifier {identifier} is in use");
                return 1;
            }

            echo.Readable = () =>
            {
                Instant now = StackRunner.Now;
                while (echo.TryReceiveReply(replyBuffer, out InternetAddress from, out ushort seq, out int length))
                {
                    if (!sent.Remove(seq, out Instant at))
                    {
                        replies.Add($"{length + 8} bytes from {from}: icmp_seq={seq} (duplicate or late)");
                        continue;
                    }

                    double rtt = (now - at).TotalMilliseconds;
                    rtts.Add(rtt);
                    Interlocked.Increment(ref answered[0]);
                    replies.Add(string.Create(CultureInfo.InvariantCulture, $"{length + 8} bytes from {from}: icmp_seq={seq} time={rtt:F3} ms"));
                }
            };

            output.WriteLine($"PING {target} {size} data bytes (from the user-space stack on {settings.Tun})");
            Instant start = StackRunner.Now;
            int transmitted = 0;
            for (ushort seq = 1; seq <= count && !stopping.IsCancellationRequested; seq++)
            {
                ushort s = seq;
                StackError result = session.Runner.InvokeAsync(stack =>
                {
                    sent[s] = StackRunner.Now;
                    return echo.SendRequest(target, s, data);
                }).GetAwaiter().GetResult();
                if (result != StackError.None)
                {
                    error.WriteLine($"tunstack: ping {target}: {result}");
                    return 1;
                }

                transmitted++;
                TimeSpan pause = seq == count ? timeout : interval;
                DateTime until = DateTime.UtcNow + pause;
                while (DateTime.UtcNow < until && !stopping.IsCancellationRequested)
                {
                    if (replies.TryTake(out string? line, until - DateTime.UtcNow > TimeSpan.Zero ? until - DateTime.UtcNow : TimeSpan.Zero))
                    {
                        output.WriteLine(line);
                        if (seq == count && Volatile.Read(ref answered[0]) == transmitted)
                        {
                            break;
                        }
                    }
                }
            }

            while (replies.TryTake(out string? late))
            {
                output.WriteLine(late);
            }

            double elapsed = (StackRunner.Now - start).TotalMilliseconds;
            double[] samples = session.Runner.InvokeAsync(_ => rtts.ToArray()).GetAwaiter().GetResult();
            int received = samples.Length;
            output.WriteLine();
            output.WriteLine($"--- {target} ping statistics ---");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{transmitted} packets transmitted, {received} received, {(transmitted == 0 ? 0 : 100 * (transmitted - received) / transmitted)}% packet loss, time {elapsed:F0}ms"));
            if (received > 0)
            {
                double avg = samples.Average();
                double mdev = Math.Sqrt(samples.Average(r => (r - avg) * (r - avg)));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rtt min/avg/max/mdev = {samples.Min():F3}/{avg:F3}/{samples.Max():F3}/{mdev:F3} ms"));
            }

            return received > 0 ? 0 : 1;
        }
    }
}
