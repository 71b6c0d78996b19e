namespace TunStack.Tcp;

/// <summary>
/// Where a connection's congestion control stands, as Linux's <c>tcpi_ca_state</c> (the same
/// numbers, <c>TCP_CA_Open</c> to <c>TCP_CA_Loss</c>).
/// </summary>
public enum TcpCongestionState
{
    /// <summary>0: nothing unusual; the window grows as the algorithm says.</summary>
    Open = 0,

    /// <summary>1: SACKs or duplicate ACKs told of data above SND.UNA (reordering or a loss not yet decided), no recovery yet.</summary>
    Disorder = 1,

    /// <summary>2: the window was reduced for an ECN-Echo (RFC 3168) and that window of data is not yet acknowledged.</summary>
    Cwr = 2,

    /// <summary>3: fast recovery (RFC 5681 3.2, RFC 6675, RACK).</summary>
    Recovery = 3,

    /// <summary>4: after a retransmission timeout, until the data outstanding then is acknowledged.</summary>
    Loss = 4,
}
