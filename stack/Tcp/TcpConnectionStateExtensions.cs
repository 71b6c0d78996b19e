// The sets of RFC 9293 states that the connection's rules name, each written once.
namespace TunStack.Tcp;

/// <summary>What a connection may do in each RFC 9293 state.</summary>
internal static class TcpConnectionStateExtensions
{
    extension(TcpConnectionState state)
    {
        /// <summary>
        /// RFC 9293 3.10.7.4, sixth and seventh checks: urgent pointers and segment text are
        /// processed in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 (the peer has not sent its FIN).
        /// </summary>
        public bool ReceivesText => state is TcpConnectionState.Established or TcpConnectionState.FinWait1 or TcpConnectionState.FinWait2;

        /// <summary>The application may queue data (RFC 9293 3.10.2: ESTABLISHED and CLOSE-WAIT).</summary>
        public bool AcceptsSends => state is TcpConnectionState.Established or TcpConnectionState.CloseWait;

        /// <summary>Our data or FIN may be in flight or waiting to go (the sender's output runs).</summary>
        public bool Sends => state is TcpConnectionState.Established or TcpConnectionState.CloseWait or TcpConnectionState.FinWait1 or TcpConnectionState.Closing or TcpConnectionState.LastAck;

        /// <summary>An abort must tell the peer with a RST (RFC 9293 3.10.5: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT).</summary>
        public bool ResetsOnAbort => state is TcpConnectionState.SynReceived or TcpConnectionState.Established or TcpConnectionState.FinWait1 or TcpConnectionState.FinWait2 or TcpConnectionState.CloseWait;
    }
}
