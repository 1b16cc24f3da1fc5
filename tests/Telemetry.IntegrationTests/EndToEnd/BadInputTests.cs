using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// Bad messages are refused one by one with a reason, counted, and write nothing; the sender and every other
/// client keep working.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class BadInputTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record BadCase(string Name, string TopicShape, byte[] Payload, string Reason, MqttClientPublishReasonCode Code);

    static IEnumerable<BadCase> Cases()
    {
        const string good = "campus/bad/r1/{sensor}/telemetry";
        var yearsAgo = DateTimeOffset.UtcNow.AddYears(-3).ToUnixTimeMilliseconds();
        var json = MqttClientPublishReasonCode.PayloadFormatInvalid;
        yield return new("malformed JSON", good, "{\"temperature\":21.5"u8.ToArray(), "malformed_json", json);
        yield return new("not JSON at all", good, "temperature=21.5"u8.ToArray(), "malformed_json", json);
        yield return new("non-numeric metric", good, "{\"temperature\":\"warm\"}"u8.ToArray(), "non_numeric_metric", json);
        yield return new("no metrics", good, "{\"ts\":1795860000000}"u8.ToArray(), "no_metrics", json);
        yield return new("NaN literal", good, "{\"temperature\":NaN}"u8.ToArray(), "malformed_json", json);
        yield return new("Infinity by overflow", good, "{\"temperature\":1e999}"u8.ToArray(), "non_finite_metric", json);
        yield return new("empty payload", good, [], "empty_payload", json);
        yield return new("1 MB payload", good, Encoding.UTF8.GetBytes("{\"temperature\":" + new string('1', 1024 * 1024) + "}"), "payload_too_large", json);
        yield return new("timestamp years off", good, Encoding.UTF8.GetBytes($"{{\"ts\":{yearsAgo},\"temperature\":1}}"), "timestamp_out_of_range", json);
        yield return new("wrong topic suffix", "campus/bad/r1/{sensor}/state", "{\"temperature\":1}"u8.ToArray(), "topic_not_allowed", MqttClientPublishReasonCode.TopicNameInvalid);
        yield return new("reading on the status topic", "campus/bad/r1/{sensor}/status", "{\"temperature\":1}"u8.ToArray(), "not_a_reading", MqttClientPublishReasonCode.PayloadFormatInvalid);
        yield return new("too few topic levels", "campus/bad/{sensor}/telemetry", "{\"temperature\":1}"u8.ToArray(), "topic_not_allowed", MqttClientPublishReasonCode.TopicNameInvalid);
        yield return new("foreign topic", "devices/{sensor}/data", "{\"temperature\":1}"u8.ToArray(), "topic_not_allowed", MqttClientPublishReasonCode.TopicNameInvalid);
    }

    [Fact]
    public async Task Every_bad_message_is_refused_with_its_reason_and_nothing_of_it_is_written()
    {
        var sensor = $"bad-{Guid.NewGuid():N}"[..12];
        var before = await fixture.Service.RefusalTotalsAsync(Ct);

        // A bystander keeps publishing good readings the whole time.
        using var stopBystander = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var bystander = RunBystanderAsync($"{sensor}-by", stopBystander.Token);

        using var client = await fixture.Service.ConnectAsync($"{sensor}-v5", MqttProtocolVersion.V500, Ct);
        var expected = new Dictionary<string, long>();
        foreach (var bad in Cases())
        {
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(bad.TopicShape.Replace("{sensor}", sensor, StringComparison.Ordinal))
                .WithPayload(bad.Payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), Ct);
            Assert.True(bad.Code == result.ReasonCode, $"{bad.Name}: PUBACK {result.ReasonCode} ({result.ReasonString}), expected {bad.Code}");
            Assert.StartsWith(bad.Reason, result.ReasonString, StringComparison.Ordinal);
            Assert.True(client.IsConnected, $"{bad.Name}: the sender was disconnected");
            expected[bad.Reason] = expected.GetValueOrDefault(bad.Reason) + 1;
        }

        // The same client still gets good readings through.
        var good = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/bad/r1/{sensor}/telemetry")
            .WithPayload("{\"temperature\":19.75}"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
        Assert.Equal(MqttClientPublishReasonCode.Success, good.ReasonCode);

        await stopBystander.CancelAsync();
        var bystanderAcked = await bystander;

        var after = await fixture.Service.RefusalTotalsAsync(Ct);
        foreach (var (reason, count) in expected)
        {
            Assert.True(after.GetValueOrDefault(reason) - before.GetValueOrDefault(reason) >= count,
                $"refusals counted for {reason}: {after.GetValueOrDefault(reason) - before.GetValueOrDefault(reason)}, expected {count}");
        }

        var bystanderStored = await Poll.UntilAsync(
            $"the bystander's {bystanderAcked} acknowledged readings in InfluxDB",
            () => fixture.Influx.CountAsync(ServiceOnInfluxV1Fixture.Database, "telemetry", "temperature", $"sensor = '{sensor}-by'", Ct),
            n => n >= bystanderAcked, cancellationToken: Ct);
        var stored = await Poll.UntilAsync(
            $"the one valid reading of {sensor} in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database, $"SELECT temperature FROM telemetry WHERE sensor = '{sensor}'", Ct),
            found => found.Count > 0, cancellationToken: Ct);
        var values = stored.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "temperature").GetDouble())).ToList();
        Assert.Equal([19.75], values);

        Assert.True(bystanderAcked > 0, "the bystander got nothing through");
        Assert.Equal(bystanderAcked, bystanderStored);
    }

    [Fact]
    public async Task An_MQTT_311_device_is_acknowledged_on_refusal_and_stays_connected()
    {
        var sensor = $"bad311-{Guid.NewGuid():N}"[..14];
        var before = await fixture.Service.RefusalTotalsAsync(Ct);
        using var client = await fixture.Service.ConnectAsync(sensor, MqttProtocolVersion.V311, Ct);

        var bad = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/bad/r1/{sensor}/telemetry")
            .WithPayload("{\"temperature\":[1,2]}"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
        Assert.True(bad.IsSuccess); // 3.1.1 has no negative PUBACK: the refusal is counted and logged instead.
        Assert.True(client.IsConnected);

        var good = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/bad/r1/{sensor}/telemetry")
            .WithPayload("{\"temperature\":1}"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
        Assert.True(good.IsSuccess);

        var after = await fixture.Service.RefusalTotalsAsync(Ct);
        Assert.True(after.GetValueOrDefault("non_numeric_metric") > before.GetValueOrDefault("non_numeric_metric"));
        Assert.Equal(1, await Poll.UntilAsync(
            $"the valid reading of {sensor} in InfluxDB",
            () => fixture.Influx.CountAsync(ServiceOnInfluxV1Fixture.Database, "telemetry", "temperature", $"sensor = '{sensor}'", Ct),
            n => n >= 1, cancellationToken: Ct));
    }

    async Task<long> RunBystanderAsync(string sensor, CancellationToken stop)
    {
        using var client = await fixture.Service.ConnectAsync(sensor, MqttProtocolVersion.V311, Ct);
        long acked = 0;
        var ts = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
        while (!stop.IsCancellationRequested)
        {
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic($"campus/bad/r2/{sensor}/telemetry")
                .WithPayload(Encoding.UTF8.GetBytes($"{{\"ts\":{ts++},\"temperature\":20}}"))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), Ct);
            Assert.True(result.IsSuccess, $"bystander: {result.ReasonCode}");
            acked++;
        }

        return acked;
    }
}
