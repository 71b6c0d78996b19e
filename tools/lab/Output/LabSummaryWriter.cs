using System.Text.Json;

namespace TunStack.Lab;

/// <summary>summary.json: the run's flows, links and routers, snake_case, indented, properties in the contract's order.</summary>
internal static class LabSummaryWriter
{
    public static void Write(string path, LabRunResult result)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, NewLine = "\n" });
        json.WriteStartObject();
        json.WriteString("scenario", result.Scenario);
        json.WriteNumber("seed", result.Seed);
        json.WriteNumber("duration_s", result.Duration.TotalSeconds);
        json.WriteStartArray("flows");
        foreach (LabFlowResult flow in result.Flows)
        {
            json.WriteStartObject();
            json.WriteString("name", flow.Name);
            json.WriteString("kind", flow.Kind);
            json.WriteString("from", flow.From);
            json.WriteString("to", flow.To);
            WriteOptional(json, "congestion", flow.Congestion);
            json.WriteNumber("bytes", flow.Bytes);
            json.WriteNumber("goodput_bps", Math.Round(flow.GoodputBitsPerSecond, 3));
            json.WriteNumber("retransmits", flow.Retransmits);
            WriteOptional(json, "rtt_p50_ms", flow.RttP50Milliseconds);
            WriteOptional(json, "rtt_p99_ms", flow.RttP99Milliseconds);
            WriteOptional(json, "completion_s", flow.CompletionSeconds);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("links");
        foreach (LabLinkResult link in result.Links)
        {
            json.WriteStartObject();
            json.WriteString("name", link.Name);
            json.WriteNumber("delivered", link.Delivered);
            json.WriteNumber("dropped", link.Dropped);
            json.WriteNumber("marked", link.Marked);
            json.WriteNumber("queue_delay_p50_ms", link.QueueDelayP50Milliseconds);
            json.WriteNumber("queue_delay_p99_ms", link.QueueDelayP99Milliseconds);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("routers");
        foreach (LabRouterResult router in result.Routers)
        {
            json.WriteStartObject();
            json.WriteString("name", router.Name);
            json.WriteNumber("forwarded", router.Forwarded);
            json.WriteNumber("unroutable", router.Unroutable);
            json.WriteNumber("expired", router.Expired);
            json.WriteNumber("too_big", router.TooBig);
            json.WriteNumber("fragmented", router.Fragmented);
            json.WriteNumber("icmp_sent", router.IcmpSent);
            json.WriteNumber("icmp_rate_limited", router.IcmpRateLimited);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, Math.Round(v, 6));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
