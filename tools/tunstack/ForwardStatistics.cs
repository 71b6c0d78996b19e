using System.Globalization;
using System.Net.Sockets;

namespace TunStack.Cli;

/// <summary>What <c>tunstack forward</c> has relayed: flows open and in total, bytes each way, refusals by reason (thread-safe).</summary>
public sealed class ForwardStatistics
{
    private long _tcpOpen;
    private long _tcpInUse;
    private long _tcpTotal;
    private long _tcpRefused;
    private long _tcpUnreachable;
    private long _tcpDenied;
    private long _tcpLimited;
    private long _udpFlowsOpen;
    private long _udpFlowsTotal;
    private long _udpDenied;
    private long _udpLimited;
    private long _bytesSent;
    private long _bytesReceived;

    /// <summary>TCP connections relaying now.</summary>
    public long TcpOpen => Interlocked.Read(ref _tcpOpen);

    /// <summary>TCP flows holding a slot: dialling, accepting or relaying (what --max-flows bounds).</summary>
    public long TcpInUse => Interlocked.Read(ref _tcpInUse);

    /// <summary>Takes a slot for a new TCP flow when fewer than <paramref name="limit"/> are in use.</summary>
    internal bool TryTakeTcpSlot(long limit)
    {
        if (Interlocked.Increment(ref _tcpInUse) <= limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _tcpInUse);
        Interlocked.Increment(ref _tcpLimited);
        return false;
    }

    /// <summary>Gives back the slot of a TCP flow that has ended (relayed or not).</summary>
    internal void ReturnTcpSlot() => Interlocked.Decrement(ref _tcpInUse);

    /// <summary>UDP flows open now.</summary>
    public long UdpFlowsOpen => Interlocked.Read(ref _udpFlowsOpen);

    internal void TcpOpened()
    {
        Interlocked.Increment(ref _tcpOpen);
        Interlocked.Increment(ref _tcpTotal);
    }

    internal void TcpClosed() => Interlocked.Decrement(ref _tcpOpen);

    internal void TcpFailed(SocketError why) => Interlocked.Increment(ref why == SocketError.ConnectionRefused ? ref _tcpRefused : ref _tcpUnreachable);

    internal void TcpDenied() => Interlocked.Increment(ref _tcpDenied);

    internal void UdpOpened()
    {
        Interlocked.Increment(ref _udpFlowsOpen);
        Interlocked.Increment(ref _udpFlowsTotal);
    }

    internal void UdpClosed() => Interlocked.Decrement(ref _udpFlowsOpen);

    internal void UdpDenied() => Interlocked.Increment(ref _udpDenied);

    internal void UdpLimited() => Interlocked.Increment(ref _udpLimited);

    /// <summary>Bytes from the namespace to the outside.</summary>
    internal void AddSent(long bytes) => Interlocked.Add(ref _bytesSent, bytes);

    /// <summary>Bytes from the outside into the namespace.</summary>
    internal void AddReceived(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    /// <summary>One line for the log.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"tcp {TcpOpen} open, {Interlocked.Read(ref _tcpTotal)} relayed, {Interlocked.Read(ref _tcpRefused)} refused by the destination, "
        + $"{Interlocked.Read(ref _tcpUnreachable)} unreachable, {Interlocked.Read(ref _tcpDenied)} denied, {Interlocked.Read(ref _tcpLimited)} over the flow limit; "
        + $"udp {UdpFlowsOpen} flows open, {Interlocked.Read(ref _udpFlowsTotal)} in all, {Interlocked.Read(ref _udpDenied)} denied, {Interlocked.Read(ref _udpLimited)} over the flow limit; "
        + $"{Interlocked.Read(ref _bytesSent)} bytes out, {Interlocked.Read(ref _bytesReceived)} bytes in");
}
