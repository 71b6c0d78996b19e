namespace TunStack.Ip;

/// <summary>
/// Routes with longest-prefix match. Routes are kept sorted by prefix length (longest first),
/// so a lookup is the first route whose prefix contains the destination. A stack on a
/// point-to-point TUN link hands every routed packet to that one link; the gateway only matters
/// for choosing the source address.
/// </summary>
public sealed class RouteTable
{
    private readonly List<Route> _routes = new();

    /// <summary>The routes, longest prefix first.</summary>
    public IReadOnlyList<Route> Routes => _routes;

    /// <summary>Adds a route (replacing one with the same destination).</summary>
    public void Add(Route route)
    {
        ArgumentNullException.ThrowIfNull(route);
        Remove(route.Destination);
        int i = 0;
        while (i < _routes.Count && _routes[i].Destination.Length >= route.Destination.Length)
        {
            i++;
        }

        _routes.Insert(i, route);
    }

    /// <summary>Removes the route for a destination prefix; true when one was removed.</summary>
    public bool Remove(IpPrefix destination) => _routes.RemoveAll(r => r.Destination == destination) > 0;

    /// <summary>Longest-prefix match; null when no route (not even a default route) matches.</summary>
    public Route? Lookup(InternetAddress destination)
    {
        foreach (Route route in _routes)
        {
            if (route.Destination.Contains(destination))
            {
                return route;
            }
        }

        return null;
    }
}
