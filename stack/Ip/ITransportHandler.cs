namespace TunStack.Ip;

/// <summary>A transport the IP layer delivers datagrams and ICMP errors to: <see cref="Udp.UdpLayer"/> and <see cref="Tcp.TcpLayer"/>.</summary>
internal interface ITransportHandler
{
    void Receive(in IpDatagram datagram);

    /// <summary>An ICMP error quoting one of our datagrams; <paramref name="quotedTransport"/> is at least 8 bytes.</summary>
    void ReceiveIcmpError(in IcmpError error, ReadOnlySpan<byte> quotedTransport);
}
