namespace TunStack.Lab;

/// <summary>
/// A scenario file that cannot be run: the message is one line naming the field path and the
/// problem, for example <c>links[1].delay: "20xs" is not a duration</c>.
/// </summary>
public sealed class LabScenarioException : Exception
{
    /// <summary>Creates the error for the field at <paramref name="path"/>.</summary>
    public LabScenarioException(string path, string problem)
        : base(string.IsNullOrEmpty(path) ? problem : $"{path}: {problem}")
    {
        Path = path;
    }

    /// <summary>Where in the file the problem is (for example <c>links[1].delay</c>), empty for the whole file.</summary>
    public string Path { get; }
}
