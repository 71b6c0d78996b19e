namespace TunStack.Ip;

/// <summary>A transport protocol the IP layer delivers to (UDP now; TCP plugs in the same way).</summary>
internal interface ITransportHandler
{
    void Receive(in IpDatagram datagram);

    /// <summary>An ICMP error quoting one of our datagrams; <paramref name="quotedTransport"/> is at least 8 bytes.</summary>
    void ReceiveIcmpError(in IcmpError error, ReadOnlySpan<byte> quotedTransport);
}
