using TunStack.Wire;

namespace TunStack.Tests.Wire;

public class TcpOptionsTests
{
    [Theory]
    [InlineData(new byte[] { 2, 0, 5, 0xB4 })]              // length 0
    [InlineData(new byte[] { 2, 1, 5, 0xB4 })]              // length 1
    [InlineData(new byte[] { 2, 8, 5, 0xB4 })]              // overruns the options area
    [InlineData(new byte[] { 99 })]                         // kind without a length byte
    public void MalformedLength_Walk_EndsWithoutLoopOrValue(byte[] options)
    {
        TcpOptions o = TcpOptions.Parse(options);
        Assert.Equal(0, o.Mss);
        Assert.Equal(-1, o.WindowScale);
    }

    [Fact]
    public void UnknownOption_SkippedByLength_LaterOptionsRead()
    {
        // RFC 9293 3.2: an unknown option is skipped using its length.
        byte[] options = { 30, 6, 1, 2, 3, 4, 2, 4, 0x05, 0xB4, 1, 3, 3, 9 };
        TcpOptions o = TcpOptions.Parse(options);
        Assert.Equal(1460, o.Mss);
        Assert.Equal(9, o.WindowScale);
    }

    [Fact]
    public void EndOfList_StopsWalk()
    {
        byte[] options = { 0, 2, 4, 0x05, 0xB4 };
        Assert.Equal(0, TcpOptions.Parse(options).Mss);
    }

    [Fact]
    public void WindowScaleAbove14_ClampedTo14()
    {
        // RFC 7323 2.3: a shift count above 14 is treated as 14.
        Assert.Equal(14, TcpOptions.Parse(new byte[] { 3, 3, 20, 0 }).WindowScale);
    }

    [Fact]
    public void KnownKindWithWrongLength_Ignored()
    {
        byte[] options = { 2, 3, 5, 4, 2 }; // MSS with length 3, then SACK-permitted
        TcpOptions o = TcpOptions.Parse(options);
        Assert.Equal(0, o.Mss);
        Assert.True(o.SackPermitted);
    }

    [Fact]
    public void FourSackBlocks_WriteThenParse_RoundTrip()
    {
        TcpOptions o = TcpOptions.None;
        for (uint i = 0; i < 4; i++)
        {
            o.AddSack(new SackBlock(new SeqNumber(uint.MaxValue - 10 + i * 100), new SeqNumber(i * 100 + 50)));
        }

        o.AddSack(new SackBlock(new SeqNumber(1), new SeqNumber(2))); // a fifth is not kept
        Span<byte> buffer = stackalloc byte[40];
        int n = o.WriteTo(buffer);
        Assert.Equal(36, n);
        Assert.Equal(o, TcpOptions.Parse(buffer[..n]));
    }

    [Fact]
    public void EveryByteString_Parse_NeverThrows()
    {
        var random = new Random(11);
        var buffer = new byte[40];
        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            int length = random.Next(41);
            _ = TcpOptions.Parse(buffer.AsSpan(0, length));
        }
    }
}
