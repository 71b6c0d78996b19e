using TunStack.Ip;

namespace TunStack.Lab;

/// <summary>A router's explicit route: packets to <see cref="Destination"/> leave towards the neighbour node <see cref="Via"/>.</summary>
internal sealed record LabRouteSpec(IpPrefix Destination, string Via);
