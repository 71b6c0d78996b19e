namespace TunStack.Ip;

/// <summary>
/// The stack's own addresses (each with its on-link prefix) and its routes: what is local, what is
/// an IPv4 broadcast, and which source address a destination gets. Owned by the <see cref="IpLayer"/>.
/// </summary>
internal sealed class AddressTable
{
    private readonly StackCounters _counters;
    private readonly List<IpPrefix> _entries = new();

    /// <summary>
    /// Starts with <see cref="StackOptions.Addresses"/> and <see cref="StackOptions.Routes"/>; without
    /// routes, each address's prefix is on-link and each family with an address gets a default route.
    /// </summary>
    public AddressTable(StackCounters counters, StackOptions options)
    {
        _counters = counters;
        foreach (IpPrefix address in options.Addresses)
        {
            _entries.Add(address);
        }

        foreach (Route route in options.Routes)
        {
            Routes.Add(route);
        }

        if (options.Routes.Count == 0)
        {
            AddDefaultRoutes();
        }
    }

    /// <summary>The routes (longest-prefix match).</summary>
    public RouteTable Routes { get; } = new();

    /// <summary>The stack's addresses with their prefixes.</summary>
    public IReadOnlyList<IpPrefix> Entries => _entries;

    /// <summary>Adds an address (with its on-link prefix) unless it is there already.</summary>
    public void Add(IpPrefix address)
    {
        if (!_entries.Contains(address))
        {
            _entries.Add(address);
        }
    }

    private void AddDefaultRoutes()
    {
        bool v4 = false, v6 = false;
        foreach (IpPrefix a in _entries)
        {
            Routes.Add(new Route(new IpPrefix(a.Address, a.Length)));
            v4 |= a.Address.IsV4;
            v6 |= a.Address.IsV6;
        }

        if (v4)
        {
            Routes.Add(new Route(new IpPrefix(InternetAddress.AnyV4, 0)));
        }

        if (v6)
        {
            Routes.Add(new Route(new IpPrefix(InternetAddress.AnyV6, 0)));
        }
    }

    /// <summary>True when <paramref name="address"/> is one of the stack's unicast addresses.</summary>
    public bool IsLocal(InternetAddress address)
    {
        foreach (IpPrefix a in _entries)
        {
            if (a.Address == address)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>255.255.255.255 or the directed broadcast of one of our IPv4 prefixes (RFC 1122 3.2.1.3).</summary>
    public bool IsBroadcastV4(InternetAddress address)
    {
        if (address.IsLimitedBroadcast)
        {
            return true;
        }

        foreach (IpPrefix a in _entries)
        {
            if (a.Address.IsV4 && a.Length < 31 && a.DirectedBroadcast == address)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Chooses the source address for a destination: the address whose prefix contains the
    /// gateway or the destination, else the first of the family (RFC 6724 reduced to one link).
    /// </summary>
    public StackError SelectSource(InternetAddress destination, out InternetAddress source)
    {
        source = default;
        Route? route = Routes.Lookup(destination);
        if (route is null && !IsLocal(destination))
        {
            _counters.Increment(Counter.OutputNoRoute);
            return StackError.NetworkUnreachable;
        }

        if (IsLocal(destination))
        {
            source = destination;
            return StackError.None;
        }

        InternetAddress nextHop = route!.Gateway ?? destination;
        bool found = false;
        foreach (IpPrefix a in _entries)
        {
            if (a.Address.IsV6 != destination.IsV6)
            {
                continue;
            }

            if (a.Contains(nextHop))
            {
                source = a.Address;
                return StackError.None;
            }

            if (!found && !(destination.IsV6 && a.Address.IsLinkLocalV6 && !destination.IsLinkLocalV6))
            {
                source = a.Address;
                found = true;
            }
        }

        if (!found)
        {
            _counters.Increment(Counter.OutputNoSource);
            return StackError.AddressNotAvailable;
        }

        return StackError.None;
    }
}
