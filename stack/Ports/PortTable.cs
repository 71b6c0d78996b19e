// Ports/ owns the local ports of TCP and UDP: bind(2) and listen(2) conflicts, SO_REUSEADDR, and
// ephemeral ports chosen by RFC 6056 algorithm 1.
using TunStack.Ip;

namespace TunStack.Ports;

/// <summary>
/// The local ports of one stack, in two independent spaces: TCP and UDP (TCP port 53 and UDP port
/// 53 never conflict). A port is held by claims (a TCP listener, a bound TCP socket, a UDP
/// endpoint) and, in the TCP space, by connections (TIME-WAIT included). The transports keep their
/// own demultiplexing tables and tell this table when a claim or a connection comes and goes.
/// </summary>
internal sealed class PortTable
{
    private readonly AddressTable _addresses;
    private readonly StackOptions _options;
    private readonly Random _random;
    private readonly Space _tcp = new(ephemeralTakesUnusedPort: true);
    private readonly Space _udp = new(ephemeralTakesUnusedPort: false);

    public PortTable(AddressTable addresses, StackOptions options, Random random)
    {
        _addresses = addresses;
        _options = options;
        _random = random;
    }

    /// <summary>
    /// TCP listen(2) on <paramref name="local"/> (port 0 picks an ephemeral port). A listener
    /// conflicts with another listener on an overlapping address; bindings and connections on the
    /// port do not stop it (bind(2) checks those). Errors: AddressNotAvailable, AddressInUse.
    /// </summary>
    public StackError ListenTcp(InternetEndpoint local, out InternetEndpoint bound)
    {
        bound = default;
        if (!IsAvailable(local.Address))
        {
            return StackError.AddressNotAvailable;
        }

        ushort port = local.Port;
        if (port == 0 && !TryEphemeralPort(_tcp, static (space, candidate) => space.IsUnused(candidate), out port))
        {
            return StackError.AddressNotAvailable;
        }

        if (_tcp.HasListener(local.Address, port))
        {
            return StackError.AddressInUse;
        }

        bound = new InternetEndpoint(local.Address, port);
        _tcp.Add(port, new Claim(local.Address, IpFamilies.Both, IsListener: true, ReuseAddress: false));
        return StackError.None;
    }

    /// <summary>Releases what <see cref="ListenTcp"/> claimed for <paramref name="bound"/>.</summary>
    public void StopListeningTcp(InternetEndpoint bound)
        => _tcp.Remove(bound.Port, new Claim(bound.Address, IpFamilies.Both, IsListener: true, ReuseAddress: false));

    /// <summary>
    /// Reserves a TCP local address and port for a socket that is bound but not yet listening or
    /// connected (bind(2)). Port 0 picks an ephemeral port. As on Linux, a port held by a listener
    /// is always in use; one held by another binding or by a connection (TIME-WAIT included) is in
    /// use unless <paramref name="reuseAddress"/> is set (for a binding: on both sides). TCP
    /// conflicts look at addresses only, so a TCP claim covers both families.
    /// </summary>
    public StackError BindTcp(InternetEndpoint local, bool reuseAddress, out InternetEndpoint bound)
        => Bind(_tcp, local, IpFamilies.Both, reuseAddress, out bound);

    /// <summary>Releases a reservation made by <see cref="BindTcp"/> with the same arguments.</summary>
    public void UnbindTcp(InternetEndpoint bound, bool reuseAddress)
        => _tcp.Remove(bound.Port, new Claim(bound.Address, IpFamilies.Both, IsListener: false, reuseAddress));

    /// <summary>Adds back a claim <see cref="UnbindTcp"/> removed, with no conflict check (see NetworkStack.RestoreTcpBinding).</summary>
    public void RestoreTcpBinding(InternetEndpoint bound, bool reuseAddress)
        => _tcp.Add(bound.Port, new Claim(bound.Address, IpFamilies.Both, IsListener: false, reuseAddress));

    /// <summary>
    /// An ephemeral port for an active open: one no listener or binding holds and where
    /// <paramref name="tupleInUse"/> (given <paramref name="state"/> and the port) says this
    /// connection's 4-tuple is free, so connections to different peers may share a local port.
    /// </summary>
    public bool TryTcpConnectionPort<TState>(TState state, Func<TState, ushort, bool> tupleInUse, out ushort port)
        => TryEphemeralPort((Space: _tcp, State: state, TupleInUse: tupleInUse),
            static (s, candidate) => !s.Space.HasClaims(candidate) && !s.TupleInUse(s.State, candidate), out port);

    /// <summary>A TCP connection (any state, TIME-WAIT included) now holds <paramref name="local"/>.</summary>
    public void AddTcpConnection(InternetEndpoint local) => _tcp.AddConnection(local);

    /// <summary>A TCP connection on <paramref name="local"/> has left the connection table.</summary>
    public void RemoveTcpConnection(InternetEndpoint local) => _tcp.RemoveConnection(local);

    /// <summary>
    /// Binds a UDP endpoint covering <paramref name="families"/> (port 0 picks an ephemeral port).
    /// It conflicts with any endpoint on the port whose families and address overlap its own (an
    /// IPv6 endpoint without IPV6_V6ONLY overlaps IPv4 ones, as on Linux); UDP has no SO_REUSEADDR.
    /// </summary>
    public StackError BindUdp(InternetEndpoint local, IpFamilies families, out InternetEndpoint bound)
        => Bind(_udp, local, families, reuseAddress: false, out bound);

    /// <summary>Releases what <see cref="BindUdp"/> claimed.</summary>
    public void UnbindUdp(InternetEndpoint bound, IpFamilies families)
        => _udp.Remove(bound.Port, new Claim(bound.Address, families, IsListener: false, ReuseAddress: false));

    /// <summary>A bound UDP endpoint's families changed (IPV6_V6ONLY set after binding): its claim follows, unchecked.</summary>
    public void ChangeUdpFamilies(InternetEndpoint bound, IpFamilies from, IpFamilies to)
        => _udp.Replace(bound.Port, new Claim(bound.Address, from, IsListener: false, ReuseAddress: false), new Claim(bound.Address, to, IsListener: false, ReuseAddress: false));

    private bool IsAvailable(InternetAddress address) => address.IsUnspecified || _addresses.IsLocal(address);

    private StackError Bind(Space space, InternetEndpoint local, IpFamilies families, bool reuseAddress, out InternetEndpoint bound)
    {
        bound = default;
        if (!IsAvailable(local.Address))
        {
            return StackError.AddressNotAvailable;
        }

        ushort port = local.Port;
        if (port == 0)
        {
            // TCP takes an ephemeral port nobody holds on any address; UDP one where the new
            // endpoint conflicts with no one.
            bool found = space.EphemeralTakesUnusedPort
                ? TryEphemeralPort(space, static (s, candidate) => s.IsUnused(candidate), out port)
                : TryEphemeralPort((Space: space, Address: local.Address, Families: families),
                    static (s, candidate) => !s.Space.Conflicts(s.Address, s.Families, candidate, reuseAddress: false), out port);
            if (!found)
            {
                return StackError.AddressNotAvailable;
            }
        }
        else if (space.Conflicts(local.Address, families, port, reuseAddress))
        {
            return StackError.AddressInUse;
        }

        bound = new InternetEndpoint(local.Address, port);
        space.Add(port, new Claim(local.Address, families, IsListener: false, reuseAddress));
        return StackError.None;
    }

    // RFC 6056 3.3.2 (Algorithm 2): each attempt is a fresh random port, so the expected number of
    // attempts is the range over the free ports (about 14 with 60,000 of 64,512 in use) however the
    // used ports cluster; Algorithm 1's walk from one random start costs the length of the used run
    // it lands in. A bounded number of random attempts is followed by one walk over the whole range,
    // so "none free" (EADDRNOTAVAIL) is only answered when no port is. The state and a static
    // predicate keep the search free of allocations.
    private bool TryEphemeralPort<TState>(TState state, Func<TState, ushort, bool> isFree, out ushort port)
    {
        int first = _options.EphemeralPortFirst;
        int count = _options.EphemeralPortLast - first + 1;
        for (int attempt = 0; attempt < RandomAttempts; attempt++)
        {
            ushort candidate = (ushort)(first + _random.Next(count));
            if (isFree(state, candidate))
            {
                port = candidate;
                return true;
            }
        }

        int start = _random.Next(count);
        for (int i = 0; i < count; i++)
        {
            ushort candidate = (ushort)(first + (start + i) % count);
            if (isFree(state, candidate))
            {
                port = candidate;
                return true;
            }
        }

        port = 0;
        return false;
    }

    // Random attempts before the walk: with 1% of the range free, 512 attempts all miss with
    // probability 0.99^512, under 1%.
    private const int RandomAttempts = 512;

    /// <summary>One bind(2) or listen(2) on a port.</summary>
    private readonly record struct Claim(InternetAddress Address, IpFamilies Families, bool IsListener, bool ReuseAddress)
    {
        // A wildcard address overlaps every address; the families must share one.
        public bool Overlaps(InternetAddress address, IpFamilies families)
            => (Families & families) != 0 && (Address.IsUnspecified || address.IsUnspecified || Address == address);
    }

    /// <summary>The ports of one transport: claims, and connections counted by local port and endpoint.</summary>
    private sealed class Space
    {
        private readonly Dictionary<ushort, List<Claim>> _claims = new();
        private readonly Dictionary<ushort, int> _connectionsByPort = new();
        private readonly Dictionary<InternetEndpoint, int> _connectionsByEndpoint = new();

        public Space(bool ephemeralTakesUnusedPort) => EphemeralTakesUnusedPort = ephemeralTakesUnusedPort;

        public bool EphemeralTakesUnusedPort { get; }

        public bool HasClaims(ushort port) => _claims.ContainsKey(port);

        public bool IsUnused(ushort port) => !_claims.ContainsKey(port) && !_connectionsByPort.ContainsKey(port);

        public bool HasListener(InternetAddress address, ushort port)
        {
            if (_claims.TryGetValue(port, out List<Claim>? claims))
            {
                foreach (Claim c in claims)
                {
                    if (c.IsListener && c.Overlaps(address, IpFamilies.Both))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        public bool Conflicts(InternetAddress address, IpFamilies families, ushort port, bool reuseAddress)
        {
            if (_claims.TryGetValue(port, out List<Claim>? claims))
            {
                foreach (Claim c in claims)
                {
                    // A listener always holds its port; another binding does unless both set SO_REUSEADDR.
                    if (c.Overlaps(address, families) && (c.IsListener || !(reuseAddress && c.ReuseAddress)))
                    {
                        return true;
                    }
                }
            }

            // A connection (TIME-WAIT included) holds its port unless the new socket sets SO_REUSEADDR.
            return !reuseAddress && HasConnectionOverlapping(address, port);
        }

        // O(1) instead of a walk over every connection: counts by port answer a wildcard, counts by
        // endpoint a specific address (or a connection on a wildcard address, which overlaps it).
        private bool HasConnectionOverlapping(InternetAddress address, ushort port)
            => address.IsUnspecified
                ? _connectionsByPort.ContainsKey(port)
                : _connectionsByEndpoint.ContainsKey(new InternetEndpoint(address, port))
                    || _connectionsByEndpoint.ContainsKey(new InternetEndpoint(InternetAddress.AnyV4, port))
                    || _connectionsByEndpoint.ContainsKey(new InternetEndpoint(InternetAddress.AnyV6, port));

        public void Add(ushort port, Claim claim)
        {
            if (!_claims.TryGetValue(port, out List<Claim>? claims))
            {
                claims = new List<Claim>(1);
                _claims.Add(port, claims);
            }

            claims.Add(claim);
        }

        public void Remove(ushort port, Claim claim)
        {
            if (_claims.TryGetValue(port, out List<Claim>? claims) && claims.Remove(claim) && claims.Count == 0)
            {
                _claims.Remove(port);
            }
        }

        public void Replace(ushort port, Claim from, Claim to)
        {
            if (_claims.TryGetValue(port, out List<Claim>? claims))
            {
                int i = claims.IndexOf(from);
                if (i >= 0)
                {
                    claims[i] = to;
                }
            }
        }

        public void AddConnection(InternetEndpoint local)
        {
            Increment(_connectionsByPort, local.Port);
            Increment(_connectionsByEndpoint, local);
        }

        public void RemoveConnection(InternetEndpoint local)
        {
            Decrement(_connectionsByPort, local.Port);
            Decrement(_connectionsByEndpoint, local);
        }

        private static void Increment<TKey>(Dictionary<TKey, int> counts, TKey key)
            where TKey : notnull
            => counts[key] = counts.GetValueOrDefault(key) + 1;

        private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key)
            where TKey : notnull
        {
            int left = counts.GetValueOrDefault(key) - 1;
            if (left > 0)
            {
                counts[key] = left;
            }
            else
            {
                counts.Remove(key);
            }
        }
    }
}
