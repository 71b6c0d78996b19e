using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Tests.Wire;

public class EcnFieldTests
{
    private static readonly InternetAddress V4A = InternetAddress.Parse("10.0.0.1");
    private static readonly InternetAddress V4B = InternetAddress.Parse("10.0.0.2");
    private static readonly InternetAddress V6A = InternetAddress.Parse("fd00::1");
    private static readonly InternetAddress V6B = InternetAddress.Parse("fd00::2");

    [Theory]
    [InlineData(EcnCodepoint.Ect0)]
    [InlineData(EcnCodepoint.Ect1)]
    public void Ipv4EctPacket_MarkedCe_CarriesCeWithValidHeaderChecksum(EcnCodepoint ect)
    {
        byte[] packet = Ipv4WithEcn(ect, tos: 0xB8);

        Assert.True(EcnField.TryMarkCongestionExperienced(packet));

        Assert.Equal(EcnCodepoint.CongestionExperienced, EcnField.Read(packet));
        Assert.Equal(0xB8 | 3, packet[1]);   // the DSCP bits stay
        Assert.Equal(0, InternetChecksum.Compute(packet.AsSpan(0, 20)));
    }

    [Fact]
    public void Ipv4NotEctPacket_Marked_RefusedAndUnchanged()
    {
        byte[] packet = Ipv4WithEcn(EcnCodepoint.NotEct, tos: 0);
        byte[] before = (byte[])packet.Clone();

        Assert.False(EcnField.TryMarkCongestionExperienced(packet));

        Assert.Equal(before, packet);
    }

    [Fact]
    public void Ipv6Ect0Packet_MarkedCe_TrafficClassLowBitsSet()
    {
        byte[] packet = Packets.Ipv6(V6A, V6B, 17, new byte[8]);
        packet[1] |= (byte)((int)EcnCodepoint.Ect0 << 4);
        Assert.Equal(EcnCodepoint.Ect0, EcnField.Read(packet));

        Assert.True(EcnField.TryMarkCongestionExperienced(packet));

        Assert.Equal(EcnCodepoint.CongestionExperienced, EcnField.Read(packet));
        Assert.Equal(0x60, packet[0]);   // version and the high Traffic Class bits untouched
    }

    [Fact]
    public void CePacket_MarkedAgain_StaysCe()
    {
        byte[] packet = Ipv4WithEcn(EcnCodepoint.CongestionExperienced, tos: 0);

        Assert.True(EcnField.TryMarkCongestionExperienced(packet));

        Assert.Equal(EcnCodepoint.CongestionExperienced, EcnField.Read(packet));
        Assert.Equal(0, InternetChecksum.Compute(packet.AsSpan(0, 20)));
    }

    [Fact]
    public void TruncatedOrNonIpBuffer_Read_NotEctAndNotMarked()
    {
        byte[] junk = { 0x10, 0xFF, 0xFF };

        Assert.Equal(EcnCodepoint.NotEct, EcnField.Read(junk));
        Assert.False(EcnField.TryMarkCongestionExperienced(junk));
    }

    private static byte[] Ipv4WithEcn(EcnCodepoint ecn, byte tos)
    {
        byte[] packet = Packets.Ipv4(V4A, V4B, 17, new byte[8]);
        packet[1] = (byte)(tos | (byte)ecn);
        packet[10] = 0;
        packet[11] = 0;
        ushort checksum = InternetChecksum.Compute(packet.AsSpan(0, 20));
        packet[10] = (byte)(checksum >> 8);
        packet[11] = (byte)checksum;
        return packet;
    }
}
