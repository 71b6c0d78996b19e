// The sets of RFC 9293 states that the connection's rules name, each written once.
namespace TunStack.Tcp;

/// <summary>What a connection may do in each RFC 9293 state.</summary>
internal static class TcpStateExtensions
{
    extension(TcpState state)
    {
        /// <summary>
        /// RFC 9293 3.10.7.4, sixth and seventh checks: urgent pointers and segment text are
        /// processed in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 (the peer has not sent its FIN).
        /// </summary>
        public bool ReceivesText => state is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2;

        /// <summary>The application may queue data (RFC 9293 3.10.2: ESTABLISHED and CLOSE-WAIT).</summary>
        public bool AcceptsSends => state is TcpState.Established or TcpState.CloseWait;

        /// <summary>Our data or FIN may be in flight or waiting to go (the sender's output runs).</summary>
        public bool Sends => state is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck;

        /// <summary>An abort must tell the peer with a RST (RFC 9293 3.10.5: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT).</summary>
        public bool ResetsOnAbort => state is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait;
    }
}
