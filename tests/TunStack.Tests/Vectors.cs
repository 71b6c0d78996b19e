using System.Buffers.Binary;
using System.Text.Json;

namespace TunStack.Tests;

/// <summary>The scapy-built known-good packets in vectors/packets.json.</summary>
internal static class Vectors
{
    public sealed record Vector(string Name, byte[] Bytes, JsonElement Fields)
    {
        public override string ToString() => Name;
    }

    private static readonly Lazy<List<Vector>> s_all = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "packets.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => new Vector(e.GetProperty("name").GetString()!, Convert.FromHexString(e.GetProperty("hex").GetString()!), e.GetProperty("fields").Clone()))
            .ToList();
    });

    public static IReadOnlyList<Vector> All => s_all.Value;

    public static Vector Get(string name) => All.Single(v => v.Name == name);

    public static IEnumerable<object[]> Names => All.Select(v => new object[] { v.Name });

    public static ushort ReadU16(byte[] b, int offset) => BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(offset));
}
