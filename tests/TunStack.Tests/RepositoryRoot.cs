namespace TunStack.Tests;

/// <summary>The repository the tests were built from: the nearest directory above the test binaries that holds Stack.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Stack.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Stack.sln above {AppContext.BaseDirectory}");
    }
}
