using System.Text.Json;

namespace TunStack.Lab.Plots;

/// <summary>
/// summary.json as the report reads it. The scenario, the seed, the flows and links and their
/// names are required (routers may be absent: files written before routers were reported); the other numbers may be null or absent (shown as a dash). A value of
/// the wrong kind fails with its place in the file: "summary.json: flows[1].bytes is a string,
/// expected a number".
/// </summary>
internal sealed record ReportSummary(string Scenario, double Seed, double? DurationSeconds, IReadOnlyList<ReportFlow> Flows, IReadOnlyList<ReportLink> Links, IReadOnlyList<ReportRouter> Routers)
{
    /// <summary>Names as the lab writes them into file names; anything else could escape the directory.</summary>
    private static readonly System.Buffers.SearchValues<char> s_nameCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    public static ReportSummary Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LabReportInputException(path, 0, "missing (a lab run writes it first)");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            // The parser's message ends with its own 0-based position ("LineNumber: 2 | ..."): the line is given once, 1-based.
            string reason = e.Message;
            int position = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
            reason = position > 0 ? reason[..position].TrimEnd() : reason;
            throw new LabReportInputException(path, (int)(e.LineNumber ?? -1) + 1, $"not valid JSON ({reason})");
        }

        using (document)
        {
            var reader = new Reader(path);
            JsonElement root = document.RootElement;
            reader.Expect(root, JsonValueKind.Object, "the document");
            List<ReportFlow> flows = reader.Items(root, "flows", (flow, at) => new ReportFlow(
                reader.Name(flow, at),
                reader.OptionalString(flow, "kind", at),
                reader.OptionalString(flow, "from", at),
                reader.OptionalString(flow, "to", at),
                reader.OptionalString(flow, "congestion", at),
                reader.OptionalNumber(flow, "bytes", at),
                reader.OptionalNumber(flow, "goodput_bps", at),
                reader.OptionalNumber(flow, "retransmits", at),
                reader.OptionalNumber(flow, "rtt_p50_ms", at),
                reader.OptionalNumber(flow, "rtt_p99_ms", at),
                reader.OptionalNumber(flow, "completion_s", at)));
            List<ReportLink> links = reader.Items(root, "links", (link, at) => new ReportLink(
                reader.Name(link, at),
                reader.OptionalNumber(link, "delivered", at),
                reader.OptionalNumber(link, "dropped", at),
                reader.OptionalNumber(link, "marked", at),
                reader.OptionalNumber(link, "queue_delay_p50_ms", at),
                reader.OptionalNumber(link, "queue_delay_p99_ms", at)));
            List<ReportRouter> routers = !root.TryGetProperty("routers", out _) ? [] : reader.Items(root, "routers", (router, at) => new ReportRouter(
                reader.Name(router, at),
                reader.OptionalNumber(router, "forwarded", at),
                reader.OptionalNumber(router, "unroutable", at),
                reader.OptionalNumber(router, "expired", at),
                reader.OptionalNumber(router, "too_big", at),
                reader.OptionalNumber(router, "fragmented", at),
                reader.OptionalNumber(router, "icmp_sent", at)));
            return new ReportSummary(
                reader.OptionalString(root, "scenario", "the document") ?? throw reader.Fail("scenario is missing"),
                reader.OptionalNumber(root, "seed", "the document") ?? throw reader.Fail("seed is missing"),
                reader.OptionalNumber(root, "duration_s", "the document"),
                flows,
                links,
                routers);
        }
    }

    /// <summary>Typed access to the document's properties; failures name the file and the property's place.</summary>
    private readonly struct Reader(string path)
    {
        public LabReportInputException Fail(string problem) => new(path, 0, problem);

        public void Expect(JsonElement element, JsonValueKind kind, string what)
        {
            if (element.ValueKind != kind)
            {
                throw Fail($"{what} is {Describe(element.ValueKind)}, expected {Describe(kind)}");
            }
        }

        /// <summary>The array <paramref name="name"/> of the document, each item read by <paramref name="read"/> with its place ("flows[2]").</summary>
        public List<T> Items<T>(JsonElement parent, string name, Func<JsonElement, string, T> read)
        {
            if (!parent.TryGetProperty(name, out JsonElement value))
            {
                throw Fail($"{name} is missing");
            }

            Expect(value, JsonValueKind.Array, name);
            return value.EnumerateArray().Select((item, i) => read(item, $"{name}[{i}]")).ToList();
        }

        public string Name(JsonElement item, string at)
        {
            Expect(item, JsonValueKind.Object, at);
            string name = OptionalString(item, "name", at) ?? throw Fail($"{at}.name is missing");
            if (name.Length == 0 || name.AsSpan().ContainsAnyExcept(s_nameCharacters))
            {
                throw Fail($"{at}.name '{name}' is not a lab name (letters, digits, '_' and '-')");
            }

            return name;
        }

        public string? OptionalString(JsonElement parent, string name, string at)
        {
            if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            Expect(value, JsonValueKind.String, $"{Place(at, name)}");
            return value.GetString();
        }

        public double? OptionalNumber(JsonElement parent, string name, string at)
        {
            if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            Expect(value, JsonValueKind.Number, $"{Place(at, name)}");
            return value.GetDouble();
        }

        private static string Place(string at, string name) => at == "the document" ? name : $"{at}.{name}";

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };
    }
}
