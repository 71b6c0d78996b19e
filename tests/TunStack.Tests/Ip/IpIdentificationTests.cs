using System.Buffers.Binary;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Udp;

namespace TunStack.Tests.Ip;

/// <summary>
/// IPv4 Identification per destination (RFC 7739 4.3; RFC 6274 3.5): datagrams to one destination
/// count up by one, whatever the stack sends elsewhere in between, so a third party cannot count
/// the stack's traffic (the idle scan of nmap -sI) with probes of its own.
/// </summary>
public class IpIdentificationTests
{
    [Fact]
    public void DatagramsToTwoDestinations_Rfc7739Sec4_3_EachCountsOnItsOwn()
    {
        var probe = new Probe();
        UdpEndpoint udp = probe.Stack.OpenUdp(AddressFamily.InterNetwork);
        var first = new InternetEndpoint(InternetAddress.Parse("10.0.0.1"), 9);
        var second = new InternetEndpoint(InternetAddress.Parse("10.0.0.3"), 9);
        var idsToFirst = new List<ushort>();
        var idsToSecond = new List<ushort>();
        for (int i = 0; i < 5; i++)
        {
            udp.SendTo("a"u8, first);
            idsToFirst.Add(Identification(Assert.Single(probe.Poll())));
            for (int j = 0; j <= i; j++)
            {
                udp.SendTo("b"u8, second); // traffic elsewhere, a different amount each time
                idsToSecond.Add(Identification(Assert.Single(probe.Poll())));
            }
        }

        for (int i = 1; i < idsToFirst.Count; i++)
        {
            Assert.Equal((ushort)(idsToFirst[i - 1] + 1), idsToFirst[i]);
        }

        for (int i = 1; i < idsToSecond.Count; i++)
        {
            Assert.Equal((ushort)(idsToSecond[i - 1] + 1), idsToSecond[i]);
        }

        Assert.NotEqual((ushort)(idsToFirst[0] + 1), idsToSecond[0]); // not one counter shared by both
    }

    private static ushort Identification(byte[] packet) => BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(4));
}
