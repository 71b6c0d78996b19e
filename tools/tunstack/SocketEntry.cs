using TunStack.Ip;
using TunStack.Tcp;

namespace TunStack.Cli;

/// <summary>
/// One socket of the stack as <c>tunstack ss</c> lists it: copied from the stack on its thread (see
/// <see cref="SocketTable"/>) so that it can be formatted on any other.
/// </summary>
/// <param name="Netid">"tcp" or "udp".</param>
/// <param name="State">ss's state name: ESTAB, LISTEN, SYN-SENT, TIME-WAIT, UNCONN, ...</param>
/// <param name="ReceiveQueue">Recv-Q: bytes received and not read (a listener: connections waiting for accept).</param>
/// <param name="SendQueue">Send-Q: bytes not yet acknowledged (a listener: its backlog).</param>
/// <param name="Local">The local address and port.</param>
/// <param name="Peer">The peer's, or null when there is none (a listener, an unconnected UDP socket).</param>
/// <param name="DualStack">An IPv6 socket that takes IPv4 too (ss shows its wildcard as *).</param>
/// <param name="Tcp">TCP internals for -i, or null.</param>
/// <param name="Memory">Memory for -m, or null.</param>
/// <param name="Timer">The running timer for -o, or null (none running, or not asked for).</param>
/// <param name="Extended">-e's words for the socket (uid, v6only, shutdown), or null.</param>
public sealed record SocketEntry(string Netid, string State, long ReceiveQueue, long SendQueue, InternetEndpoint Local, InternetEndpoint? Peer, bool DualStack, TcpDetails? Tcp, SocketMemory? Memory, SocketTimer? Timer = null, string? Extended = null)
{
    /// <summary>ss's name of LISTEN.</summary>
    public const string Listen = "LISTEN";

    /// <summary>ss's name of a bound, unconnected datagram socket.</summary>
    public const string Unconnected = "UNCONN";

    /// <summary>ss's name of TIME-WAIT.</summary>
    public const string TimeWait = "TIME-WAIT";

    /// <summary>ss's name of SYN-RECEIVED.</summary>
    public const string SynReceived = "SYN-RECV";

    /// <summary>ss's name for an RFC 9293 state.</summary>
    public static string StateName(TcpConnectionState state) => state switch
    {
        TcpConnectionState.Established => "ESTAB",
        TcpConnectionState.SynSent => "SYN-SENT",
        TcpConnectionState.SynReceived => SynReceived,
        TcpConnectionState.FinWait1 => "FIN-WAIT-1",
        TcpConnectionState.FinWait2 => "FIN-WAIT-2",
        TcpConnectionState.TimeWait => TimeWait,
        TcpConnectionState.CloseWait => "CLOSE-WAIT",
        TcpConnectionState.LastAck => "LAST-ACK",
        TcpConnectionState.Listen => Listen,
        TcpConnectionState.Closing => "CLOSING",
        _ => Unconnected, // Closed: ss calls it UNCONN too
    };
}
