// The fuzz targets' seed corpus and every crash AFL++ found (minimized, in fuzz/findings/<target>/)
// replayed as ordinary tests: each input must go through its target with nothing escaping.
using TunStack.Fuzz;
using TunStack.Wire;

namespace TunStack.Tests.Fuzz;

public class FuzzCorpusReplayTests
{
    private static string FuzzFolder => Path.Combine(RepositoryRoot.Path, "fuzz");

    public static IEnumerable<object[]> CheckedInInputs()
    {
        foreach (FuzzTarget target in FuzzTarget.All)
        {
            foreach (string kind in new[] { "corpus", "findings" })
            {
                string folder = Path.Combine(FuzzFolder, kind, target.Name);
                if (!Directory.Exists(folder))
                {
                    continue;
                }

                foreach (string file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                {
                    yield return new object[] { target.Name, $"{kind}/{target.Name}/{Path.GetFileName(file)}" };
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(CheckedInInputs))]
    public void CheckedInInput_RunThroughItsTarget_NothingEscapes(string target, string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(FuzzFolder, file));
        FuzzTarget.Find(target)!.Run(input);
    }

    [Fact]
    public void EveryTarget_SeedCorpus_IsWhatTheSeedCommandWrites()
    {
        foreach (FuzzTarget target in FuzzTarget.All)
        {
            string folder = Path.Combine(FuzzFolder, "corpus", target.Name);
            var seeds = target.Seeds().ToDictionary(s => s.Name, s => s.Input);
            Assert.NotEmpty(seeds);
            Assert.Equal(seeds.Keys.Order(StringComparer.Ordinal), Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            foreach ((string name, byte[] input) in seeds)
            {
                Assert.Equal(input, File.ReadAllBytes(Path.Combine(folder, name)));
            }
        }
    }

    [Fact]
    public void EveryTarget_EmptyAndShortInputs_NothingEscapes()
    {
        foreach (FuzzTarget target in FuzzTarget.All)
        {
            target.Run(ReadOnlySpan<byte>.Empty);
            target.Run(new byte[] { 0xFF });
            target.Run(new byte[64]);
        }
    }

    [Fact]
    public void StackTarget_PeerDataReadOutOfOrder_InvariantBreakIsReported()
    {
        // The pattern check must be able to fail: bytes read at the wrong offset are a violation.
        var stack = new StackUnderFuzz(0, establish: true);
        byte[] wrong = stack.PeerSegment(TcpFlags.Ack, stack.PeerNxt, new SeqNumber(StackUnderFuzz.StackIss + 1), 65535, default, 10, 0);
        wrong[^1] ^= 0xFF; // one data byte that is not the pattern; the checksum then fails unless repaired
        ChecksumRepair.Apply(wrong, header: false, transport: true);
        Assert.Throws<InvariantViolationException>(() => stack.Deliver(wrong));
    }

    [Theory]
    [InlineData("clean-bulk")]
    [InlineData("lossy-bulk")]
    [InlineData("lossy-request-response-newreno")]
    public void PairTarget_SeedWithTraffic_EveryByteSentIsRead(string seed)
    {
        // The pair target checks each byte as it is read; a seed whose bytes never arrived would
        // check nothing. Its teardown reads to the end on both stacks, so all that was sent is read.
        byte[] input = PairTarget.Seeds().Single(s => s.Name == seed).Input;

        (long sent, long read) = PairTarget.RunCounted(input);

        Assert.True(sent > 0, $"{seed}: nothing was sent");
        Assert.Equal(sent, read);
    }
}
