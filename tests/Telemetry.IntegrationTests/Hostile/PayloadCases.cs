using System.Globalization;
using System.Text;
using MQTTnet.Formatter;
using static Telemetry.IntegrationTests.Hostile.Expectation;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// JSON payload bombs and tricks, published by a real MQTT client on a valid topic: deep nesting, huge arrays, numbers
/// that do not fit, NaN spelled out, thousands of metrics, duplicated keys, reserved names, binary and compressed data.
/// </summary>
public sealed class JsonPayloadCases : IHostileCaseSource
{
    public string Category => "payload-json";

    static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        var json = new List<(string Name, byte[] Payload, Expectation Expected)>
        {
            // Nesting: a metric that is an object or array is refused at its first level, however deep it goes.
            ("array nested 10,000 deep", B(new string('[', 10_000) + new string(']', 10_000)), Payload("not_a_reading")),
            ("array nested 100,000 deep, never closed", B(new string('[', 100_000)), Payload("not_a_reading")),
            ("object nested 5,000 deep", B(string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000)), Payload("non_numeric_metric")),
            ("batch of a reading nested 9 deep", B("[{\"ts\":" + Now + ",\"a\":" + new string('[', 9) + new string(']', 9) + "}]"), Payload("non_numeric_metric")),
            ("array of 60,000 numbers", B("[" + string.Join(',', Enumerable.Repeat("1", 60_000)) + "]"), Payload("not_a_reading")),
            ("array of 60,000 empty objects", B("[" + string.Join(',', Enumerable.Repeat("{}", 60_000)) + "]"), Payload("no_metrics")),
            ("batch of 1,001 readings", B("[" + string.Join(',', Enumerable.Range(0, 1001).Select(i => $"{{\"ts\":{Now - i},\"t\":1}}")) + "]"), Payload("too_many_values")),
            ("10,000 metrics in one reading", B("{" + string.Join(',', Enumerable.Range(0, 10_000).Select(i => $"\"m{i}\":1")) + "}"), Payload("too_many_values")),
            ("101 metrics in one reading", B("{" + string.Join(',', Enumerable.Range(0, 101).Select(i => $"\"m{i}\":1")) + "}"), Payload("too_many_values")),
            ("300 KB payload", B("{\"t\":1,\"pad\":\"" + new string('x', 300_000) + "\"}"), Payload("payload_too_large")),

            // Numbers.
            ("1e400", B("{\"t\":1e400}"), Payload("non_finite_metric")),
            ("-1e400", B("{\"t\":-1e400}"), Payload("non_finite_metric")),
            ("a 5,000-digit integer", B("{\"t\":" + new string('9', 5000) + "}"), Payload("non_finite_metric")),
            ("NaN literal", B("{\"t\":NaN}"), Payload("malformed_json")),
            ("Infinity literal", B("{\"t\":Infinity}"), Payload("malformed_json")),
            ("-Infinity literal", B("{\"t\":-Infinity}"), Payload("malformed_json")),
            ("\"NaN\" as a string", B("{\"t\":\"NaN\"}"), Payload("non_numeric_metric")),
            ("hex number", B("{\"t\":0x10}"), Payload("malformed_json")),
            ("leading zero", B("{\"t\":01}"), Payload("malformed_json")),
            ("plus sign", B("{\"t\":+1}"), Payload("malformed_json")),
            ("bare exponent", B("{\"t\":1e}"), Payload("malformed_json")),
            ("trailing dot", B("{\"t\":1.}"), Payload("malformed_json")),
            ("true as a value", B("{\"t\":true}"), Payload("non_numeric_metric")),
            ("null as a value", B("{\"t\":null}"), Payload("non_numeric_metric")),

            // Keys.
            ("duplicated metric", B("{\"t\":1,\"t\":2}"), Payload("invalid_metric_name")),
            ("duplicated metric through a \\u escape", B("{\"t\":1,\"\\u0074\":2}"), Payload("invalid_metric_name")),
            ("duplicated ts", B($"{{\"ts\":{Now},\"ts\":{Now},\"t\":1}}"), Payload("invalid_timestamp")),
            ("metric 'time'", B("{\"time\":1}"), Payload("metric_name_reserved")),
            ("metric named like the tag 'unregistered'", B("{\"unregistered\":1}"), Payload("metric_name_reserved")),
            ("metric 'TIME'", B("{\"TIME\":1}"), Payload("metric_name_reserved")),
            ("metric named like the tag 'building'", B("{\"building\":1}"), Payload("metric_name_reserved")),
            ("metric named like the tag 'room'", B("{\"room\":1}"), Payload("metric_name_reserved")),
            ("metric named like the tag 'sensor'", B("{\"sensor\":1}"), Payload("metric_name_reserved")),
            ("metric starting with '_'", B("{\"_field\":1}"), Payload("invalid_metric_name")),
            ("empty metric name", B("{\"\":1}"), Payload("invalid_metric_name")),
            ("65-character metric name", B("{\"" + new string('m', 65) + "\":1}"), Payload("invalid_metric_name")),
            ("metric name with a newline (line-protocol injection)", B("{\"t\\n telemetry,sensor=evil t=1\":1}"), Payload("invalid_metric_name")),
            ("metric name with a backslash", B("{\"t\\\\\":1}"), Payload("invalid_metric_name")),
            ("metric name with NUL", B("{\"t\\u0000\":1}"), Payload("invalid_metric_name")),
            ("metric name with U+2028", B("{\"t\\u2028\":1}"), Payload("invalid_metric_name")),

            // Not JSON, or not a reading.
            ("empty payload", [], Payload("empty_payload")),
            ("white space only", B("   \n\t "), Payload("malformed_json")),
            ("null", B("null"), Payload("not_a_reading")),
            ("a number", B("42"), Payload("not_a_reading")),
            ("a string", B("\"temperature\""), Payload("not_a_reading")),
            ("empty object", B("{}"), Payload("no_metrics")),
            ("empty array", B("[]"), Payload("no_metrics")),
            ("two documents", B("{\"t\":1} {\"t\":2}"), Payload("malformed_json")),
            ("comment", B("{\"t\":1 /* x */}"), Payload("malformed_json")),
            ("trailing comma", B("{\"t\":1,}"), Payload("malformed_json")),
            ("single quotes", B("{'t':1}"), Payload("malformed_json")),
            ("UTF-8 byte order mark", [0xEF, 0xBB, 0xBF, .. B("{\"t\":1}")], Payload("malformed_json")),
            ("invalid UTF-8 in a key", [.. B("{\"t"), 0xFF, .. B("\":1}")], Payload("malformed_json")),
            ("UTF-16 encoded JSON", Encoding.Unicode.GetBytes("{\"t\":1}"), Payload("malformed_json")),
            ("gzip magic", [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xAB, 0x56, 0x2A, 0x51, 0xB2, 0x32, 0xAC, 0x05, 0x00], Payload("malformed_json")),
            ("zlib stream", [0x78, 0x9C, 0xAB, 0x56, 0x2A, 0x51, 0xB2, 0x32, 0xAC, 0x05, 0x00, 0x0B, 0x6E, 0x02, 0x75], Payload("malformed_json")),
            ("zip local header", [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00], Payload("malformed_json")),
            ("zstd frame", [0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x07, 0x39, 0x00, 0x00], Payload("malformed_json")),
            ("CBOR map", [0xA1, 0x61, 0x74, 0x01], Payload("malformed_json")),
            ("MessagePack map", [0x81, 0xA1, 0x74, 0x01], Payload("malformed_json")),
            ("base64 of a reading", B(Convert.ToBase64String(B("{\"t\":1}"))), Payload("malformed_json")),
            ("4 KB of zero bytes", new byte[4096], Payload("malformed_json")),
            ("InfluxDB line protocol", B("telemetry,sensor=evil t=1 1700000000000"), Payload("malformed_json")),

            // Timestamps.
            ("ts in epoch seconds", B($"{{\"ts\":{Now / 1000},\"t\":1}}"), Payload("timestamp_out_of_range")),
            ("ts -1", B("{\"ts\":-1,\"t\":1}"), Payload("timestamp_out_of_range")),
            ("ts long.MaxValue", B($"{{\"ts\":{long.MaxValue},\"t\":1}}"), Payload("timestamp_out_of_range")),
            ("ts above long.MaxValue", B("{\"ts\":99999999999999999999,\"t\":1}"), Payload("invalid_timestamp")),
            ("ts with a fraction", B("{\"ts\":1.5,\"t\":1}"), Payload("invalid_timestamp")),
            ("ts one hour ahead", B($"{{\"ts\":{Now + 3_600_000},\"t\":1}}"), Payload("timestamp_out_of_range")),
            ("ts RFC 3339 without offset", B("{\"ts\":\"2026-11-28T10:15:00\",\"t\":1}"), Payload("invalid_timestamp")),
            ("ts month 13", B("{\"ts\":\"2026-13-28T10:15:00Z\",\"t\":1}"), Payload("invalid_timestamp")),
            ("ts boolean", B("{\"ts\":true,\"t\":1}"), Payload("invalid_timestamp")),
            ("batch with a reading without ts", B($"[{{\"ts\":{Now},\"t\":1}},{{\"t\":2}}]"), Payload("invalid_timestamp")),
        };
        foreach (var (name, payload, expected) in json)
        {
            yield return new(Category, name, markers.Next(), new PublishAction(Shapes.Topic("{m}"), payload), expected);
        }

        // The same refusals reach an MQTT 3.1.1 device as a plain PUBACK (it cannot be told no) and are counted all the same.
        foreach (var (name, payload, expected) in json.Where((_, i) => i % 8 == 0))
        {
            yield return new(Category, $"{name}, MQTT 3.1.1", markers.Next(),
                new PublishAction(Shapes.Topic("{m}"), payload, MqttProtocolVersion.V311), expected with { Code = null });
        }

        // Hostile-looking, yet within the contract: stored exactly as sent.
        yield return new(Category, "metric name full of line-protocol syntax", markers.Next(),
            new PublishAction(Shapes.Topic("{m}"), B("{\"a b,c=d\\\"e\":1}")), Accepted);
        yield return new(Category, "1e-400 (underflows to 0)", markers.Next(),
            new PublishAction(Shapes.Topic("{m}"), B("{\"t\":1e-400}")), Accepted);

        // At the per-reading limit of 100 values, but above the 64 metric names an unregistered sensor may have
        // (Ingest:MaxMetricsPerSensor): refused whole, MQTT 5 0x97 Quota Exceeded.
        yield return new(Category, "100 metrics (the per-reading limit) for an unregistered sensor", markers.Next(),
            new PublishAction(Shapes.Topic("{m}"), B("{" + string.Join(',', Enumerable.Range(0, 100).Select(i => $"\"m{i}\":{i.ToString(CultureInfo.InvariantCulture)}")) + "}")),
            Expectation.Refused("sensor_metric_limit", 0x97))
        {
            // The sensor is never admitted (its message is refused), so in a round after the cardinality case spent this
            // minute's budget for new unregistered sensors it would be refused as too_many_new_sensors instead.
            OnlyInRound = 0,
        };
    }
}

/// <summary>SenML packs (RFC 8428) on <c>…/senml</c> with bad base names, times, values and fields.</summary>
public sealed class SenmlPayloadCases : IHostileCaseSource
{
    public string Category => "payload-senml";

    static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        (string Name, string Pack, Expectation Expected)[] packs =
        [
            ("a single record, not a pack", "{\"n\":\"t\",\"v\":1}", Payload("not_a_reading")),
            ("empty pack", "[]", Payload("no_metrics")),
            ("base name only, no value", "[{\"bn\":\"x:\"}]", Payload("no_metrics")),
            ("base name ending in ':' and no name", "[{\"bn\":\"x:\",\"v\":1}]", Payload("invalid_metric_name")),
            ("base name with NUL", "[{\"bn\":\"x\\u0000:\",\"n\":\"t\\u0000\",\"v\":1}]", Payload("invalid_metric_name")),
            ("base name as a number", "[{\"bn\":5,\"n\":\"t\",\"v\":1}]", Payload("not_a_reading")),
            ("name resolving to 'time'", "[{\"bn\":\"dev/\",\"n\":\"time\",\"v\":1}]", Payload("metric_name_reserved")),
            ("name resolving to '_x'", "[{\"n\":\"_x\",\"v\":1}]", Payload("invalid_metric_name")),
            ("base time as a string", "[{\"bt\":\"now\",\"n\":\"t\",\"v\":1}]", Payload("invalid_timestamp")),
            ("base time 1e400", "[{\"bt\":1e400,\"n\":\"t\",\"v\":1}]", Payload("invalid_timestamp")),
            ("time NaN literal", "[{\"n\":\"t\",\"t\":NaN,\"v\":1}]", Payload("malformed_json")),
            ("relative time a year back", "[{\"n\":\"t\",\"t\":-31536000,\"v\":1}]", Payload("timestamp_out_of_range")),
            ("absolute time in 2100", "[{\"bt\":4102444800,\"n\":\"t\",\"v\":1}]", Payload("timestamp_out_of_range")),
            ("bver 11", "[{\"bver\":11,\"n\":\"t\",\"v\":1}]", Payload("not_a_reading")),
            ("must-understand field", "[{\"n\":\"t\",\"v\":1,\"foo_\":1}]", Payload("not_a_reading")),
            ("string value", "[{\"n\":\"t\",\"vs\":\"warm\"}]", Payload("non_numeric_metric")),
            ("data value", "[{\"n\":\"t\",\"vd\":\"AAEC\"}]", Payload("non_numeric_metric")),
            ("v and vb together", "[{\"n\":\"t\",\"v\":1,\"vb\":true}]", Payload("not_a_reading")),
            ("name given twice", "[{\"n\":\"t\",\"n\":\"u\",\"v\":1}]", Payload("not_a_reading")),
            ("the same metric twice at one time", "[{\"n\":\"t\",\"v\":1},{\"n\":\"t\",\"v\":2}]", Payload("invalid_metric_name")),
            ("value 1e400", "[{\"n\":\"t\",\"v\":1e400}]", Payload("non_finite_metric")),
            ("1,001 distinct times", "[" + string.Join(',', Enumerable.Range(0, 1001).Select(i => $"{{\"n\":\"t\",\"t\":-{i},\"v\":1}}")) + "]", Payload("too_many_values")),
            ("101 metrics at one time", "[" + string.Join(',', Enumerable.Range(0, 101).Select(i => $"{{\"n\":\"m{i}\",\"v\":1}}")) + "]", Payload("too_many_values")),
        ];
        foreach (var (name, pack, expected) in packs)
        {
            yield return new(Category, name, markers.Next(), new PublishAction("campus/hostile/r1/{m}/senml", B(pack)), expected);
        }

        // Units are checked against the registry's unit of a registered sensor's metric (the good device's 'seq', a count).
        // Published for the good device's own sensor: were one stored, its exactly-once check would see an extra seq.
        yield return new(Category, "registered metric in a unit SenML does not register", markers.Next(),
            new PublishAction($"campus/hb/hr/{HostileFixture.GoodSensor}/senml", B("[{\"n\":\"seq\",\"u\":\"degC\",\"v\":-1}]")), Payload("unit_mismatch"));
        yield return new(Category, "registered metric in a unit that does not convert", markers.Next(),
            new PublishAction($"campus/hb/hr/{HostileFixture.GoodSensor}/senml", B("[{\"n\":\"seq\",\"u\":\"Cel\",\"v\":-1}]")), Payload("unit_mismatch"));

        // An unregistered sensor's metrics have no registry unit: the value is kept as sent (docs/contract.md, Units).
        yield return new(Category, "unregistered sensor, unit SenML does not register", markers.Next(),
            new PublishAction("campus/hostile/r1/{m}/senml", B("[{\"n\":\"t\",\"u\":\"degC\",\"v\":1}]")), Accepted);

        yield return new(Category, "status topic with a reading", markers.Next(),
            new PublishAction("campus/hostile/r1/{m}/status", B("{\"t\":1}")), Payload("not_a_reading"));
        yield return new(Category, "status topic with 64 KB", markers.Next(),
            new PublishAction("campus/hostile/r1/{m}/status", new byte[65536]), Payload("not_a_reading"));
    }
}
