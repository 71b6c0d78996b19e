// TcpConnectionInfo's fields that follow Linux's tcp_info, checked on a connection driven by a raw peer.
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class ConnectionInfoTests
{
    [Fact]
    public void Established_NoDataYetThenData_SinceLastDataReceivedCountsFromEstablishmentThenFromTheData()
    {
        // packetdrill's tcp-info-last_data_recv: a second after the handshake it is a second,
        // right after a data segment it is zero.
        RawPeer peer = RawPeer.Established();
        peer.Probe.Advance(TimeSpan.FromSeconds(1));
        TimeSpan idle = peer.Connection!.GetInfo().SinceLastDataReceived;
        Assert.InRange(idle, TimeSpan.FromMilliseconds(990), TimeSpan.FromMilliseconds(1010));
        peer.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[100]);
        Assert.True(peer.Connection.GetInfo().SinceLastDataReceived < TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public void SynReceived_AckOfSynAckAfter30ms_FirstRttSampleOfThePassiveOpen()
    {
        // RFC 6298 2.2 with the handshake's sample (as Linux's tcp_synack_rtt_meas): the accepted
        // connection knows its path before its first data.
        RawPeer peer = RawPeer.Established(handshakeRtt: TimeSpan.FromMilliseconds(30));
        TcpConnectionInfo info = peer.Connection!.GetInfo();
        Assert.Equal(TimeSpan.FromMilliseconds(30), info.SmoothedRtt);
        Assert.Equal(TimeSpan.FromMilliseconds(15), info.RttVariance);
    }
}
