using TunStack.Tcp;

namespace TunStack.Tests.Tcp;

/// <summary>
/// SipHash-2-4 against the reference vectors of its authors (key 00 01 .. 0f, message 00 01 .. of
/// each length): the empty message, each tail length up to five bytes, and one whole word plus a
/// seven-byte tail (the paper's own example).
/// </summary>
public class SipHashTests
{
    [Theory]
    [InlineData(0, 0x726fdb47dd0e0e31UL)]
    [InlineData(1, 0x74f839c593dc67fdUL)]
    [InlineData(2, 0x0d6c8009d9a94f5aUL)]
    [InlineData(3, 0x85676696d7fb7e2dUL)]
    [InlineData(4, 0xcf2794e0277187b7UL)]
    [InlineData(5, 0x18765564cd99a68dUL)]
    [InlineData(15, 0xa129ca6149be45e5UL)]
    public void ReferenceKey_MessageOfLength_GivesTheReferenceValue(int length, ulong expected)
    {
        byte[] key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        byte[] message = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();

        Assert.Equal(expected, new SipHash(key).Compute(message));
    }

    [Fact]
    public void KeyOfWrongLength_Refused()
    {
        Assert.Throws<ArgumentException>(() => new SipHash(new byte[15]));
    }
}
