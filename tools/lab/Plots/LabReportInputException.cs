namespace TunStack.Lab.Plots;

/// <summary>
/// A lab output file that the report cannot use: missing, or not in the lab's format. The message
/// names the file and, where one line is at fault, the line: "DIR/trace-f1.csv line 17: cwnd is
/// 'abc', not a number".
/// </summary>
public sealed class LabReportInputException : Exception
{
    /// <summary>Creates the exception for <paramref name="filePath"/>, at <paramref name="line"/> (1-based; 0 when no single line is at fault).</summary>
    public LabReportInputException(string filePath, int line, string problem)
        : base(line > 0 ? $"{filePath} line {line}: {problem}" : $"{filePath}: {problem}")
    {
        FilePath = filePath;
        Line = line;
    }

    /// <summary>Creates the exception with a general message (no file).</summary>
    public LabReportInputException()
        : this("unusable lab output")
    {
    }

    /// <summary>Creates the exception with a message only (no file).</summary>
    public LabReportInputException(string message)
        : base(message)
    {
        FilePath = string.Empty;
    }

    /// <summary>Creates the exception with a message and its cause (no file).</summary>
    public LabReportInputException(string message, Exception innerException)
        : base(message, innerException)
    {
        FilePath = string.Empty;
    }

    /// <summary>The file at fault, as the report opened it.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line at fault, or 0 when the problem is the whole file (missing, empty, not JSON at a known line).</summary>
    public int Line { get; }
}
