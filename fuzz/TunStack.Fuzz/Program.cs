// The fuzz program: run a target under AFL++ (through SharpFuzz), replay inputs through one, or
// write the seed corpus. fuzz/README.md has the commands.
using SharpFuzz;

namespace TunStack.Fuzz;

internal static class Program
{
    private const string Usage = """
        usage: TunStack.Fuzz <target>                  run <target> under afl-fuzz (SharpFuzz out-of-process)
               TunStack.Fuzz run <target> <file>...    run files through <target>; what escapes is printed
               TunStack.Fuzz seed <corpus-folder>      write every target's seeds to <corpus-folder>/<target>/
        targets:
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "seed")
        {
            return Seed(args[1]);
        }

        if (args.Length >= 3 && args[0] == "run" && FuzzTarget.Find(args[1]) is { } replayed)
        {
            return Replay(replayed, args[2..]);
        }

        if (args.Length == 1 && FuzzTarget.Find(args[0]) is { } target)
        {
            // AFL++ writes each input to the child's standard input; a crash is an exception that escapes.
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using var input = new MemoryStream();
                stream.CopyTo(input);
                target.Run(input.GetBuffer().AsSpan(0, (int)input.Length));
            });
            return 0;
        }

        Console.Error.WriteLine(Usage);
        foreach (FuzzTarget t in FuzzTarget.All)
        {
            Console.Error.WriteLine($"  {t.Name,-12} {t.Description}");
        }

        return 2;
    }

    private static int Replay(FuzzTarget target, string[] files)
    {
        int failures = 0;
        foreach (string file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
                Console.WriteLine($"{file}: nothing escaped");
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"{file}: {e}");
            }
        }

        return failures == 0 ? 0 : 1;
    }

    private static int Seed(string folder)
    {
        foreach (FuzzTarget target in FuzzTarget.All)
        {
            string directory = Path.Combine(folder, target.Name);
            Directory.CreateDirectory(directory);
            foreach ((string name, byte[] input) in target.Seeds())
            {
                File.WriteAllBytes(Path.Combine(directory, name), input);
            }
        }

        return 0;
    }
}
