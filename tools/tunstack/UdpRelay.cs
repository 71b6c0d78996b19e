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
    private bool _disposed;

    /// <summary>Relays for <paramref name="host"/> (call <see cref="OnDatagram"/> from its UDP forwarder).</summary>
    public UdpRelay(StackHost host, DestinationMap map, ForwardStatistics statistics, ConsoleLog log, int maxFlows, TimeSpan idleTimeout, TimeSpan dnsTimeout)
    {
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

                var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
                socket.Connect(target);
                flow = new Flow(socket, client, destination, destination.Port == 53 ? _dnsTimeout : _idleTimeout);
                _flows.Add((client, destination), flow);
                _statistics.UdpOpened();
                _ = ReceiveAsync(flow);
            }

            flow.Touch();
        }

        try
        {
            flow.Socket.Send(payload);
            _statistics.AddSent(payload.Length);
        }
        catch (SocketException)
        {
            // The socket's buffer is full or an ICMP error was queued: a datagram lost, as UDP may.
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
                int n = await flow.Socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                flow.Touch();
                try
                {
                    _host.SendUdp(from, to, buffer.AsSpan(0, n));
                    _statistics.AddReceived(n);
                }
                catch (SocketException)
                {
                    // Not sendable into the namespace (too large, no room): lost, as UDP may be.
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Closed by the sweeper or at stop; a refused port (ICMP) ends the flow early.
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
        flow.Socket.Dispose();
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

        public Flow(Socket socket, InternetEndpoint client, InternetEndpoint destination, TimeSpan timeout)
        {
            Socket = socket;
            Client = client;
            Destination = destination;
            Timeout = timeout;
        }

        public Socket Socket { get; }

        public InternetEndpoint Client { get; }

        public InternetEndpoint Destination { get; }

        public TimeSpan Timeout { get; }

        public TimeSpan IdleFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastActive));

        public void Touch() => Interlocked.Exchange(ref _lastActive, Environment.TickCount64);
    }
}
