namespace TunStack.Tcp;

/// <summary>A TCP connection's identity: local and remote address and port.</summary>
/// <param name="Local">Local endpoint.</param>
/// <param name="Remote">Remote endpoint.</param>
public readonly record struct TcpTuple(Ip.InternetEndpoint Local, Ip.InternetEndpoint Remote)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Local} <-> {Remote}";
}
