using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace TunStack.Tests.Cli;

/// <summary>
/// Plays systemd's side of sd_notify: a unix datagram socket bound in a temporary directory (or an
/// abstract name), every datagram that arrives kept as one message. <see cref="NotifySocket"/> is
/// what NOTIFY_SOCKET should say.
/// </summary>
internal sealed class FakeSystemd : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly BlockingCollection<string> _messages = new();
    private readonly List<string> _seen = new();
    private readonly string? _directory;
    private readonly Thread _reader;

    /// <param name="abstractName">Bind an abstract name ("@...") rather than a path.</param>
    /// <param name="forEveryone">Let any user send to the path (as /run/systemd/notify does), for a service run as another user.</param>
    public FakeSystemd(bool abstractName = false, bool forEveryone = false)
    {
        string name = $"tunstack-notify-{Guid.NewGuid():N}";
        if (abstractName)
        {
            NotifySocket = "@" + name;
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        }
        else
        {
            _directory = Directory.CreateTempSubdirectory("tunstack-systemd-").FullName;
            NotifySocket = Path.Combine(_directory, "notify");
            _socket.Bind(new UnixDomainSocketEndPoint(NotifySocket));
            if (forEveryone)
            {
                Assert.Equal(0, Links.CaptureTests.Run("chmod", "0711", _directory).ExitCode);
                Assert.Equal(0, Links.CaptureTests.Run("chmod", "0777", NotifySocket).ExitCode);
            }
        }

        _reader = new Thread(Read) { IsBackground = true, Name = "fake-systemd" };
        _reader.Start();
    }

    public string NotifySocket { get; }

    /// <summary>Every message so far, in order of arrival (one string per datagram).</summary>
    public IReadOnlyList<string> Seen
    {
        get
        {
            Drain(TimeSpan.Zero);
            lock (_seen)
            {
                return _seen.ToList();
            }
        }
    }

    /// <summary>Waits for a message that contains <paramref name="text"/> (a line such as READY=1) and returns it.</summary>
    public string WaitFor(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_seen)
            {
                string? found = _seen.FirstOrDefault(m => m.Split('\n').Contains(text) || m.Contains(text, StringComparison.Ordinal));
                if (found is not null)
                {
                    return found;
                }
            }

            TimeSpan left = timeout - clock.Elapsed;
            Assert.True(left > TimeSpan.Zero, $"no '{text}' from the service in {timeout.TotalSeconds} s; it sent: {string.Join(" | ", Seen)}");
            Drain(left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>How many messages so far are exactly <paramref name="message"/>.</summary>
    public int Count(string message) => Seen.Count(m => m == message);

    /// <summary>Forgets what arrived so far (and waits for nothing).</summary>
    public void Clear()
    {
        Drain(TimeSpan.Zero);
        lock (_seen)
        {
            _seen.Clear();
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _reader.Join(5000);
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private void Drain(TimeSpan wait)
    {
        if (_messages.TryTake(out string? first, wait))
        {
            lock (_seen)
            {
                _seen.Add(first);
                while (_messages.TryTake(out string? next))
                {
                    _seen.Add(next);
                }
            }
        }
    }

    private void Read()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = _socket.Receive(buffer);
                _messages.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Disposed: the test is over.
        }
    }
}
