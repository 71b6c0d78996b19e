using System.Buffers.Binary;
using TunStack.Wire;

namespace TunStack.Tests.Wire;

public class ChecksumTests
{
    [Fact]
    public void Rfc1071Example_Sum_IsDdf2()
    {
        // RFC 1071 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (checksum = ~ddf2 = 220d).
        byte[] data = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
        Assert.Equal(0xDDF2, InternetChecksum.Fold(InternetChecksum.Add(0, data)));
        Assert.Equal(0x220D, InternetChecksum.Compute(data));
    }

    [Fact]
    public void Vectorized_AllLengthsAndOffsets_MatchesScalarLoop()
    {
        var random = new Random(42);
        var buffer = new byte[70_000];
        random.NextBytes(buffer);
        for (int length = 0; length < 300; length++)
        {
            for (int offset = 0; offset < 4; offset++)
            {
                ReadOnlySpan<byte> slice = buffer.AsSpan(offset, length);
                Assert.Equal(InternetChecksum.ComputeScalar(slice), InternetChecksum.Compute(slice));
            }
        }

        foreach (int length in new[] { 1499, 1500, 9000, 65535, 65536, 69_999 })
        {
            Assert.Equal(InternetChecksum.ComputeScalar(buffer.AsSpan(0, length)), InternetChecksum.Compute(buffer.AsSpan(0, length)));
        }
    }

    [Fact]
    public void AllOnes_LargeBuffer_NoCarryLost()
    {
        var ones = new byte[65536];
        Array.Fill(ones, (byte)0xFF);
        Assert.Equal(InternetChecksum.ComputeScalar(ones), InternetChecksum.Compute(ones));
    }

    [Fact]
    public void SplitSums_AtEvenOffsets_EqualWholeSum()
    {
        var data = new byte[1001];
        new Random(7).NextBytes(data);
        uint partial = InternetChecksum.Add(0, data.AsSpan(0, 400));
        partial = InternetChecksum.Add(partial, data.AsSpan(400));
        Assert.Equal(InternetChecksum.Compute(data), InternetChecksum.Finish(partial));
    }

    [Fact]
    public void IncrementalUpdate_Rfc1624Eqn3_EqualsRecomputation()
    {
        var random = new Random(3);
        for (int trial = 0; trial < 2000; trial++)
        {
            var data = new byte[40];
            random.NextBytes(data);
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(10), 0);
            ushort before = InternetChecksum.Compute(data);
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(10), before);

            int at = 2 * random.Next(0, 20);
            if (at == 10)
            {
                continue;
            }

            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at));
            ushort newWord = trial == 0 ? (ushort)0 : (ushort)random.Next(65536);
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at), newWord);
            ushort updated = InternetChecksum.Update(before, oldWord, newWord);
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(10), updated);
            Assert.True(InternetChecksum.IsValid(InternetChecksum.Add(0, data)), $"trial {trial}");
        }
    }

    [Fact]
    public void IncrementalUpdate32_AddressRewrite_StillVerifies()
    {
        byte[] packet = Vectors.Get("ipv4_udp").Bytes.ToArray();
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(10));
        uint oldSource = BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(12));
        const uint NewSource = 0xC0A80101;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), NewSource);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), InternetChecksum.Update(checksum, oldSource, NewSource));
        Assert.True(Ipv4Packet.TryCreate(packet, out Ipv4Packet p) && p.IsChecksumValid);
    }

    [Fact]
    public void PseudoHeaders_MatchScapyUdpChecksums()
    {
        foreach (string name in new[] { "ipv4_udp", "ipv6_udp", "ipv4_udp_empty" })
        {
            byte[] b = Vectors.Get(name).Bytes;
            bool v6 = b[0] >> 4 == 6;
            int off = v6 ? 40 : 20;
            uint pseudo = v6
                ? InternetChecksum.PseudoHeaderV6(b.AsSpan(8, 16), b.AsSpan(24, 16), 17, b.Length - off)
                : InternetChecksum.PseudoHeaderV4(b.AsSpan(12, 4), b.AsSpan(16, 4), 17, b.Length - off);
            Assert.True(InternetChecksum.IsValid(InternetChecksum.Add(pseudo, b.AsSpan(off))), name);
        }
    }
}
