using System.Globalization;

namespace TunStack.Lab.Plots;

/// <summary>
/// The numeric columns of a lab CSV file (trace-FLOW.csv, queue-LINK.csv) that the report uses,
/// read by header name. Every data line must have as many fields as the header, the wanted fields
/// must be finite numbers, and the first wanted column (time) must not go back; otherwise the
/// read fails with the file and line.
/// </summary>
internal sealed class CsvColumns
{
    private readonly Dictionary<string, List<double>> _columns;

    private CsvColumns(Dictionary<string, List<double>> columns, int rows)
    {
        _columns = columns;
        RowCount = rows;
    }

    public int RowCount { get; }

    public ReadOnlySpan<double> this[string name] => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_columns[name]);

    /// <summary>Reads <paramref name="wanted"/> (the first is the time, which must not decrease) from <paramref name="path"/>.</summary>
    public static CsvColumns Read(string path, params string[] wanted)
    {
        using StreamReader reader = Open(path);
        string? header = reader.ReadLine();
        if (string.IsNullOrEmpty(header))
        {
            throw new LabReportInputException(path, 1, $"empty, expected a header line naming {string.Join(", ", wanted)}");
        }

        string[] names = header.Split(',');
        int[] slotOfField = new int[names.Length];
        Array.Fill(slotOfField, -1);
        var values = new List<double>[wanted.Length];
        for (int w = 0; w < wanted.Length; w++)
        {
            int field = Array.IndexOf(names, wanted[w]);
            if (field < 0)
            {
                throw new LabReportInputException(path, 1, $"the header '{header}' has no column '{wanted[w]}'");
            }

            slotOfField[field] = w;
            values[w] = [];
        }

        int line = 1;
        int rows = 0;
        double lastTime = double.NegativeInfinity;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            ReadOnlySpan<char> rest = text;
            int field = 0;
            while (true)
            {
                int comma = rest.IndexOf(',');
                ReadOnlySpan<char> value = comma < 0 ? rest : rest[..comma];
                if (field < names.Length && slotOfField[field] is int slot and >= 0)
                {
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) || !double.IsFinite(number))
                    {
                        throw new LabReportInputException(path, line, $"{names[field]} is '{value}', not a number");
                    }

                    if (slot == 0)
                    {
                        if (number < lastTime)
                        {
                            throw new LabReportInputException(path, line, string.Create(CultureInfo.InvariantCulture, $"{names[field]} goes back from {lastTime} to {number}"));
                        }

                        lastTime = number;
                    }

                    values[slot].Add(number);
                }

                field++;
                if (comma < 0)
                {
                    break;
                }

                rest = rest[(comma + 1)..];
            }

            if (field != names.Length)
            {
                throw new LabReportInputException(path, line, $"{field} fields, but the header has {names.Length}");
            }

            rows++;
        }

        var columns = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        for (int w = 0; w < wanted.Length; w++)
        {
            columns[wanted[w]] = values[w];
        }

        return new CsvColumns(columns, rows);
    }

    private static StreamReader Open(string path)
    {
        try
        {
            return new StreamReader(path, new System.Text.UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, new FileStreamOptions { BufferSize = 1 << 16 });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            throw new LabReportInputException(path, 0, e is FileNotFoundException or DirectoryNotFoundException ? "missing" : e.Message);
        }
    }
}
