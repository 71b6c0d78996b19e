using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Sockets;

namespace TunStack.Cli;

/// <summary>
/// The UDP side of <c>tunstack forward</c>, a NAT with one kernel socket per flow: a datagram from the
/// namespace (client endpoint, destination endpoint) goes out through its flow's socket, connected to
/// the mapped destination; what comes back to that socket goes into the namespace from the original
/// destination. A flow ends after its idle timeout (shorter for DNS); flows are bounded.
/// </summary>
public sealed class UdpRelay : IDisposable
{
    private readonly StackHost _host;
    private readonly DestinationMap _map;
    private readonly ForwardStatistics _statistics;
    private readonly ConsoleLog _log;
    private readonly int _maxFlows;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _dnsTimeout;
    private readonly Dictionary<(InternetEndpoint Client, InternetEndpoint Destination), Flow> _flows = new();
    private readonly Timer _sweeper;
    private readonly Socks5Upstream? _upstream;
    private bool _disposed;

    /// <summary>
    /// Relays for <paramref name="host"/> (call <see cref="OnDatagram"/> from its UDP forwarder), each flow
    /// through a socket of its own, or through a UDP association of <paramref name="upstream"/> when given.
    /// </summary>
    public UdpRelay(StackHost host, DestinationMap map, ForwardStatistics statistics, ConsoleLog log, int maxFlows, TimeSpan idleTimeout, TimeSpan dnsTimeout, Socks5Upstream? upstream = null)
    {
        _upstream = upstream;
        _host = host;
        _map = map;
        _statistics = statistics;
        _log = log;
        _maxFlows = maxFlows;
        _idleTimeout = idleTimeout;
        _dnsTimeout = dnsTimeout;
        _sweeper = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>A datagram from the namespace (on the stack's thread): sent on its flow's socket, made if new.</summary>
    public void OnDatagram(InternetEndpoint client, InternetEndpoint destination, ReadOnlySpan<byte> payload)
    {
        Flow? flow;
        lock (_flows)
        {
            if (_disposed)
            {
                return;
            }

            if (!_flows.TryGetValue((client, destination), out flow))
            {
                var wanted = new IPEndPoint(destination.Address.ToIPAddress(), destination.Port);
                IPEndPoint? target = _map.Map(wanted, out string? refusal);
                if (target is null)
                {
                    _statistics.UdpDenied();
                    _log.Debug($"udp {client} -> {destination}: {refusal}");
                    return;
                }

                if (_flows.Count >= _maxFlows)
                {
                    _statistics.UdpLimited();
                    return;
                }

                flow = new Flow(client, destination, target, destination.Port == 53 ? _dnsTimeout : _idleTimeout);
                _flows.Add((client, destination), flow);
                _statistics.UdpOpened();
                if (_upstream is null)
                {
                    var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
                    socket.Connect(target);
                    flow.Open(socket, control: null);
                    _ = ReceiveAsync(flow);
                }
                else
                {
                    _ = AssociateAsync(flow, _upstream);
                }
            }

            flow.Touch();
        }

        Send(flow, payload);
    }

    // Through the flow's socket; while a proxy's association is being made, a few datagrams wait.
    private void Send(Flow flow, ReadOnlySpan<byte> payload)
    {
        Socket? socket;
        lock (flow)
        {
            socket = flow.Socket;
            if (socket is null)
            {
                if (flow.Waiting.Count < 16)
                {
                    flow.Waiting.Enqueue(payload.ToArray());
                }

                return;
            }
        }

        try
        {
            if (flow.Control is null)
            {
                socket.Send(payload);
            }
            else
            {
                byte[] wrapped = new byte[payload.Length + 22];
                socket.Send(wrapped.AsSpan(0, Socks5Upstream.Wrap(flow.Target, payload, wrapped)));
            }

            _statistics.AddSent(payload.Length);
        }
        catch (SocketException)
        {
            // The socket's buffer is full or an ICMP error was queued: a datagram lost, as UDP may.
        }
    }

    private async Task AssociateAsync(Flow flow, Socks5Upstream upstream)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            (Socket control, Socket relay) = await upstream.AssociateAsync(timeout.Token).ConfigureAwait(false);
            byte[][] waiting;
            lock (flow)
            {
                if (flow.Closed)
                {
                    relay.Dispose(); // the flow ended (idle, or the relay stopped) while the proxy answered
                    control.Dispose();
                    return;
                }

                flow.Open(relay, control);
                waiting = flow.Waiting.ToArray();
                flow.Waiting.Clear();
            }

            foreach (byte[] datagram in waiting)
            {
                Send(flow, datagram);
            }

            _ = ReceiveAsync(flow);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            _log.Debug($"udp {flow.Client} -> {flow.Destination}: no association from the proxy ({e.Message})");
            Remove(flow);
        }
    }

    // Answers to a flow's socket go into the namespace from the original destination.
    private async Task ReceiveAsync(Flow flow)
    {
        byte[] buffer = new byte[65536];
        var from = new IPEndPoint(flow.Destination.Address.ToIPAddress(), flow.Destination.Port);
        var to = new IPEndPoint(flow.Client.Address.ToIPAddress(), flow.Client.Port);
        try
        {
            while (true)
            {
                int n = await flow.Socket!.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                flow.Touch();
                ReadOnlySpan<byte> payload = buffer.AsSpan(0, n);
                if (flow.Control is not null && !Socks5Upstream.Unwrap(buffer.AsSpan(0, n), out _, out payload))
                {
                    continue; // a fragment or a malformed header from the relay: dropped
                }

                try
                {
                    _host.SendUdp(from, to, payload);
                    _statistics.AddReceived(payload.Length);
                }
                catch (SocketException)
                {
                    // Not sendable into the namespace (too large, no room): lost, as UDP may be.
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && !flow.Closed)
        {
            // The destination answered port unreachable: say so to the client, as it would have
            // heard on a routed network, and end the flow.
            _host.SendUdpPortUnreachable(to, from);
            Remove(flow);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Closed by the sweeper or at stop.
            Remove(flow);
        }
    }

    private void Sweep()
    {
        List<Flow> idle;
        lock (_flows)
        {
            idle = _flows.Values.Where(f => f.IdleFor > f.Timeout).ToList();
        }

        idle.ForEach(Remove);
    }

    private void Remove(Flow flow)
    {
        lock (_flows)
        {
            if (!_flows.TryGetValue((flow.Client, flow.Destination), out Flow? current) || current != flow)
            {
                return;
            }

            _flows.Remove((flow.Client, flow.Destination));
        }

        _statistics.UdpClosed();
        lock (flow)
        {
            flow.Closed = true;
            flow.Socket?.Dispose();
            flow.Control?.Dispose();
        }
    }

    /// <summary>Closes every flow.</summary>
    public void Dispose()
    {
        _sweeper.Dispose();
        List<Flow> all;
        lock (_flows)
        {
            _disposed = true;
            all = _flows.Values.ToList();
        }

        all.ForEach(Remove);
    }

    private sealed class Flow
    {
        private long _lastActive = Environment.TickCount64;

        public Flow(InternetEndpoint client, InternetEndpoint destination, IPEndPoint target, TimeSpan timeout)
        {
            Client = client;
            Destination = destination;
            Target = target;
            Timeout = timeout;
        }

        // Null until the flow's socket is there (a proxy's association takes a round trip).
        public Socket? Socket { get; private set; }

        // The proxy's control connection: the association lives as long as it.
        public Socket? Control { get; private set; }

        public IPEndPoint Target { get; }

        public Queue<byte[]> Waiting { get; } = new();

        public bool Closed { get; set; }

        public InternetEndpoint Client { get; }

        public InternetEndpoint Destination { get; }

        public TimeSpan Timeout { get; }

        public TimeSpan IdleFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastActive));

        public void Touch() => Interlocked.Exchange(ref _lastActive, Environment.TickCount64);

        public void Open(Socket socket, Socket? control)
        {
            Socket = socket;
            Control = control;
        }
    }
}
