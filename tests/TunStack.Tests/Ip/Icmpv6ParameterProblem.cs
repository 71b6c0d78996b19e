using System.Buffers.Binary;
using TunStack.Wire;

namespace TunStack.Tests.Ip;

/// <summary>The stack's one answer to a packet, read as an ICMPv6 Parameter Problem (RFC 4443 3.4): its code and pointer.</summary>
internal readonly record struct Icmpv6ParameterProblem(byte Code, uint Pointer)
{
    /// <summary>Asserts that <paramref name="sent"/> is a single ICMPv6 Parameter Problem and reads it.</summary>
    public static Icmpv6ParameterProblem SingleIn(List<byte[]> sent)
    {
        byte[] reply = Assert.Single(sent);
        Assert.Equal(Icmpv6Type.ParameterProblem, reply[40]);
        return new Icmpv6ParameterProblem(reply[41], BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(44)));
    }
}
