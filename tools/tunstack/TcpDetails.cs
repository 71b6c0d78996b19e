using TunStack.Tcp;

namespace TunStack.Cli;

/// <summary>
/// What <c>ss -i</c> shows of a TCP connection: the stack's tcp_info (<see cref="TcpConnectionInfo"/>)
/// and the options negotiated in the handshake. A TIME-WAIT record has no tcp_info, only the time left.
/// </summary>
/// <param name="Info">The connection's tcp_info, or null for a TIME-WAIT record.</param>
/// <param name="Timestamps">RFC 7323 timestamps negotiated (ss: ts).</param>
/// <param name="Sack">SACK negotiated (ss: sack).</param>
/// <param name="SendWindowScale">The peer's window scale, -1 without window scaling.</param>
/// <param name="ReceiveWindowScale">Ours, -1 without window scaling.</param>
/// <param name="TimeWaitLeft">The time left in TIME-WAIT, for a TIME-WAIT record.</param>
public sealed record TcpDetails(TcpConnectionInfo? Info, bool Timestamps, bool Sack, int SendWindowScale, int ReceiveWindowScale, TimeSpan? TimeWaitLeft);
