// The embedding host: a stack, its link and its loop thread, and the sockets made on it.
using System.Net.Sockets;
using TunStack.Links;
using TunStack.Sockets.Hosting;
using TunStack.Tun;

namespace TunStack.Sockets;

/// <summary>
/// A TunStack network stack running inside the application: over a TUN device
/// (<see cref="StartOnTun"/>) or any <see cref="ILink"/> such as a <see cref="MemoryLink"/>
/// (<see cref="Start"/>). It runs the stack's loop on a thread of its own, makes sockets
/// (<see cref="CreateSocket(AddressFamily, SocketType, ProtocolType)"/>), HttpClient handlers
/// (<see cref="CreateHttpHandler"/>) and is the transport of Kestrel's <c>UseTunStack</c> (in TunStack.Sockets.AspNetCore).
/// Dispose stops the loop, and removes the TUN interface it set up.
/// </summary>
public sealed class StackHost : IDisposable
{
    private readonly IDisposable? _owned;
    private int _disposed;

    private StackHost(StackRunner runner, StackOptions options, TunInterface? tun, IDisposable? owned)
    {
        Runner = runner;
        Options = options;
        Tun = tun;
        _owned = owned;
    }

    /// <summary>Starts a stack with <paramref name="options"/> over <paramref name="link"/>.</summary>
    /// <param name="link">The link; the host disposes it.</param>
    /// <param name="options">Addresses, routes and limits of the stack.</param>
    /// <param name="clock">The real clock, or a virtual one for tests (see <see cref="StackClock.Virtual"/>).</param>
    /// <param name="name">Name of the loop thread.</param>
    public static StackHost Start(ILink link, StackOptions options, StackClock clock = StackClock.Real, string name = "tunstack")
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(options);
        var runner = new StackRunner(link, options, name, clock);
        runner.Start();
        return new StackHost(runner, options, null, link);
    }

    /// <summary>
    /// Sets up a TUN interface (device, kernel-side addresses, optionally in a network namespace)
    /// and starts a stack with <paramref name="options"/> on it. Needs CAP_NET_ADMIN (and
    /// CAP_SYS_ADMIN for a namespace); the <see cref="TunException"/> says which and how to get it.
    /// </summary>
    public static StackHost StartOnTun(TunInterfaceOptions tun, StackOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(tun);
        ArgumentNullException.ThrowIfNull(options);
        TunInterface opened = TunInterface.Open(tun, log);
        try
        {
            var runner = new StackRunner(opened.Device, options, "tunstack-" + opened.Device.Name);
            runner.Start();
            return new StackHost(runner, options, opened, opened);
        }
        catch
        {
            opened.Dispose();
            throw;
        }
    }

    /// <summary>Wraps a runner started elsewhere (the daemon's); the host does not dispose it.</summary>
    public static StackHost Attach(StackRunner runner, StackOptions options)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(options);
        return new StackHost(runner, options, null, null) { OwnsRunner = false };
    }

    /// <summary>The loop that runs the stack.</summary>
    public StackRunner Runner { get; }

    /// <summary>The options the stack was made with.</summary>
    public StackOptions Options { get; }

    /// <summary>The TUN interface, when the host runs over one.</summary>
    public TunInterface? Tun { get; }

    /// <summary>Counters of the stack.</summary>
    public StackCounters Counters => Runner.Counters;

    private bool OwnsRunner { get; init; } = true;

    /// <summary>The stack's first IPv4 address (or first address), for examples and logs.</summary>
    public System.Net.IPAddress PrimaryAddress
    {
        get
        {
            using StackCall call = Runner.Enter();
            IReadOnlyList<Ip.IpPrefix> addresses = call.Stack.Addresses;
            foreach (Ip.IpPrefix prefix in addresses)
            {
                if (prefix.Address.IsV4)
                {
                    return prefix.Address.ToIPAddress();
                }
            }

            return addresses.Count > 0 ? addresses[0].Address.ToIPAddress() : System.Net.IPAddress.None;
        }
    }

    /// <summary>
    /// Turns on any-address termination for TCP: every connection request to an address this stack
    /// does not own goes to <paramref name="handler"/> (on the stack's thread, under its gate: keep it
    /// short, and decide later from any thread). Null turns it off. See <see cref="ForwardedConnectionRequest"/>
    /// and <see cref="NetworkStack.TcpForwarder"/>.
    /// </summary>
    public void ForwardTcp(Action<ForwardedConnectionRequest>? handler)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using StackCall call = Runner.Enter();
        call.Stack.TcpForwarder = handler is null ? null : request => handler(new ForwardedConnectionRequest(this, request));
    }

    /// <summary>
    /// Turns on any-address termination for UDP: every datagram to an address this stack does not own
    /// goes to <paramref name="handler"/> (on the stack's thread; copy the payload to keep it). Answer with
    /// <see cref="SendUdp"/>. Null turns it off.
    /// </summary>
    public void ForwardUdp(Udp.UdpForwardHandler? handler)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using StackCall call = Runner.Enter();
        call.Stack.UdpForwarder = handler;
    }

    /// <summary>
    /// Tells <paramref name="client"/> that <paramref name="destination"/> refused its UDP flow (ICMP port
    /// unreachable quoting the flow's headers; see <see cref="NetworkStack.SendUdpPortUnreachable"/>).
    /// </summary>
    public void SendUdpPortUnreachable(System.Net.IPEndPoint client, System.Net.IPEndPoint destination)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(destination);
        using StackCall call = Runner.Enter();
        call.Stack.SendUdpPortUnreachable(
            new Ip.InternetEndpoint(Ip.InternetAddress.FromIPAddress(client.Address), (ushort)client.Port),
            new Ip.InternetEndpoint(Ip.InternetAddress.FromIPAddress(destination.Address), (ushort)destination.Port));
    }

    /// <summary>
    /// Turns on any-address termination for ping: every ICMP or ICMPv6 echo request to an address this
    /// stack does not own goes to <paramref name="handler"/> (on the stack's thread; copy the data to
    /// keep it). Answer with <see cref="SendEchoReply"/>. Null turns it off.
    /// </summary>
    public void ForwardIcmpEcho(Ip.IcmpEchoForwardHandler? handler)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using StackCall call = Runner.Enter();
        call.Stack.IcmpEchoForwarder = handler;
    }

    /// <summary>
    /// Sends an echo reply from <paramref name="source"/>, which need not be an address of this stack.
    /// Returns false when the stack cannot send it (no route, too large).
    /// </summary>
    public bool SendEchoReply(System.Net.IPAddress source, System.Net.IPAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        using StackCall call = Runner.Enter();
        return call.Stack.SendEchoReply(Ip.InternetAddress.FromIPAddress(source), Ip.InternetAddress.FromIPAddress(destination), identifier, sequence, data) == StackError.None;
    }

    /// <summary>
    /// Sends a UDP datagram from <paramref name="source"/>, which need not be an address of this stack
    /// (a forwarder's answer from the original destination). Throws <see cref="SocketException"/> when
    /// the stack cannot send it (MessageSize, NetworkUnreachable, NoBufferSpaceAvailable).
    /// </summary>
    public void SendUdp(System.Net.IPEndPoint source, System.Net.IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        var from = new Ip.InternetEndpoint(Ip.InternetAddress.FromIPAddress(source.Address), (ushort)source.Port);
        var to = new Ip.InternetEndpoint(Ip.InternetAddress.FromIPAddress(destination.Address), (ushort)destination.Port);
        StackError error;
        using (StackCall call = Runner.Enter())
        {
            error = call.Stack.SendUdp(from, to, payload);
        }

        if (error != StackError.None)
        {
            throw SocketErrors.Exception(SocketErrors.ToSocketError(error));
        }
    }

    /// <summary>Makes a socket like <c>socket(2)</c>: Stream/Tcp or Dgram/Udp, InterNetwork or InterNetworkV6 (dual-mode unless DualMode is turned off).</summary>
    public StackSocket CreateSocket(AddressFamily addressFamily, SocketType socketType, ProtocolType protocolType)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new StackSocket(this, addressFamily, socketType, protocolType);
    }

    /// <summary>Makes a dual-mode IPv6 socket, as <c>new Socket(SocketType, ProtocolType)</c> does.</summary>
    public StackSocket CreateSocket(SocketType socketType, ProtocolType protocolType)
        => CreateSocket(AddressFamily.InterNetworkV6, socketType, protocolType);

    /// <summary>
    /// A <see cref="System.Net.Http.SocketsHttpHandler"/> whose connections go through this stack
    /// (its ConnectCallback dials with a <see cref="StackSocket"/>). Host names resolve with the
    /// system resolver; literal addresses need none.
    /// </summary>
    public System.Net.Http.SocketsHttpHandler CreateHttpHandler() => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            StackSocket socket = await ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new StackNetworkStream(socket, ownsSocket: true);
        },
    };

    /// <summary>
    /// Connects a stream socket to <paramref name="remote"/> from <paramref name="local"/>, which need not be
    /// an address of this stack (as a socket with Linux's IP_TRANSPARENT may): a forwarder publishing a
    /// port into a namespace keeps the outside client's address this way. Answers to a foreign local
    /// address reach the stack only while any-address termination is on (<see cref="ForwardTcp"/>) or
    /// when a route brings them. Port 0 picks an ephemeral port. Throws <see cref="SocketException"/> as
    /// <see cref="StackSocket.ConnectAsync"/> does; AddressAlreadyInUse when the 4-tuple is taken.
    /// </summary>
    public async ValueTask<StackSocket> ConnectFromAsync(System.Net.IPEndPoint local, System.Net.IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        StackSocket socket = CreateSocket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            socket.TransparentSource = new Ip.InternetEndpoint(Ip.InternetAddress.FromIPAddress(local.Address), (ushort)local.Port);
            await socket.ConnectAsync(remote, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects a stream socket to <paramref name="endPoint"/> (an IPEndPoint, or a DnsEndPoint resolved by the system resolver).</summary>
    public async ValueTask<StackSocket> ConnectAsync(System.Net.EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        System.Net.IPAddress[] addresses = endPoint switch
        {
            System.Net.IPEndPoint ip => new[] { ip.Address },
            System.Net.DnsEndPoint dns when System.Net.IPAddress.TryParse(dns.Host, out System.Net.IPAddress? literal) => new[] { literal },
            System.Net.DnsEndPoint dns => await System.Net.Dns.GetHostAddressesAsync(dns.Host, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentException("Only IPEndPoint and DnsEndPoint can be dialled.", nameof(endPoint)),
        };
        int port = endPoint is System.Net.IPEndPoint e ? e.Port : ((System.Net.DnsEndPoint)endPoint).Port;
        SocketException? last = null;
        foreach (System.Net.IPAddress address in addresses)
        {
            StackSocket socket = CreateSocket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.NoDelay = true;
                await socket.ConnectAsync(new System.Net.IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException error)
            {
                socket.Dispose();
                last = error;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (OwnsRunner)
        {
            Runner.Dispose();
            _owned?.Dispose();
        }
    }
}
