using MQTTnet;
using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;
using static Telemetry.IntegrationTests.Hostile.ScriptClients;
using F = Telemetry.IntegrationTests.Hostile.HostileFixture;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Subscription sniffing: wildcards over everything, <c>$SYS</c>, other devices' topics, the alert topics without the
/// <c>alerts</c> role — each refused with SUBACK 0x87 (MQTT 3.1.1: 0x80) and counted under
/// <c>telemetry_mqtt_subscriptions_refused_total{reason}</c>; and, as the positive control, a dashboard with the role
/// receives the alert a freezer's fault raises.
/// </summary>
public sealed class SubscriptionSniffingCases : IHostileCaseSource
{
    public string Category => "subscription";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        // Anonymous clients (allowed on loopback here): never `#`, `$`-topics or filters that begin with a wildcard, and
        // no `campus/…` filter that reaches beyond the alert root into it.
        string[] anonymous =
        [
            "#", "$SYS/#", "$SYS/broker/clients/connected", "+", "+/#",
            "+/hb/hr/good-1/telemetry", "+/+/+/+/+", "+/alerts/#", "campus/#", "campus/+/#", "campus/+/+/+/+/+",
        ];
        foreach (var filter in anonymous)
        {
            yield return new HostileCase(Category, $"anonymous SUBSCRIBE {filter}", markers.Next(),
                new RawAction(_ => Subscribe(Utf8(filter), 0x01), RawStart.Mqtt5), Expectation.SubscribeRefused("subscription_not_allowed"));
        }

        // Shared subscriptions: MQTTnet does not support them and answers 0x9E itself, before any authorisation.
        foreach (var filter in new[] { "$share/g/#", "$share/g/campus/hb/hr/good-1/telemetry" })
        {
            yield return new HostileCase(Category, $"anonymous SUBSCRIBE {filter}", markers.Next(),
                new RawAction(_ => Subscribe(Utf8(filter), 0x01), RawStart.Mqtt5), new Expectation(Outcome.SubscribeRefused, null, 0x9E));
        }

        yield return new HostileCase(Category, "anonymous MQTT 3.1.1 SUBSCRIBE #", markers.Next(),
            new RawAction(_ => Subscribe(Utf8("#"), 0x01, v5: false), RawStart.Mqtt311), Expectation.SubscribeRefused("subscription_not_allowed", 0x80));
        yield return new HostileCase(Category, "anonymous MQTT 3.1.1 SUBSCRIBE $SYS/#", markers.Next(),
            new RawAction(_ => Subscribe(Utf8("$SYS/#"), 0x01, v5: false), RawStart.Mqtt311), Expectation.SubscribeRefused("subscription_not_allowed", 0x80));

        // A store identity: only its own sensor's topics; the alert topics need the role.
        (string Filter, string? Reason)[] device =
        [
            ("campus/hb/hr/good-1/telemetry", "subscription_not_allowed"),
            ("campus/hb/hr/good-1/#", "subscription_not_allowed"),
            ("campus/+/+/good-1/telemetry", "alerts_role_required"), // could match campus/alerts/x/good-1/telemetry
            ("campus/hb/hr/+/telemetry", "subscription_not_allowed"),
            ("campus/hb/#", "subscription_not_allowed"),
            ("campus/alerts/#", "alerts_role_required"),
            ("campus/alerts/hb/hr/alarm-1/freezer-fault", "alerts_role_required"),
            ($"campus/alerts/hb/hr/{F.OtherDevice}/#", "alerts_role_required"),
            ("#", "subscription_not_allowed"),
            ($"campus/hb/hr/{F.OtherDevice}/#", null), // its own sensor: granted
        ];
        yield return Subscribes(markers, $"{F.OtherDevice} subscribes to other devices' topics, alerts and its own", F.OtherDevice, F.OtherPassword, device);

        // An identity with the alerts role: alerts yes, but only inside the alert root, and nothing else.
        (string Filter, string? Reason)[] dashboard =
        [
            ("campus/#", "subscription_not_allowed"),
            ("campus/+/hb/#", "subscription_not_allowed"),
            ("$SYS/#", "subscription_not_allowed"),
            ("campus/hb/hr/good-1/telemetry", "subscription_not_allowed"),
            ("campus/alerts/#", null),
        ];
        yield return Subscribes(markers, $"{F.Dashboard} (alerts role) subscribes beyond the alert root and to it", F.Dashboard, F.DashboardPassword, dashboard);

        // Positive control: the dashboard receives the alert of a freezer fault (its store entry lists alarm-1).
        yield return new HostileCase(Category, $"{F.Dashboard} receives the alert raised by {F.AlarmSensor}'s fault", markers.Next(), new ScriptAction(async context =>
        {
            var received = new List<string>();
            var client = await ConnectAsync(context, context.Case.Marker, F.Dashboard, F.DashboardPassword);
            try
            {
                client.ApplicationMessageReceivedAsync += args =>
                {
                    lock (received)
                    {
                        received.Add(args.ApplicationMessage.Topic);
                    }

                    return Task.CompletedTask;
                };
                var sub = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("campus/alerts/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), context.Ct);
                var publish = await PublishAsync(client, $"campus/hb/hr/{F.AlarmSensor}/telemetry", "{\"temperature\":-18,\"fault\":7}", context.Ct);
                var topic = $"campus/alerts/hb/hr/{F.AlarmSensor}/{F.AlarmRule}";
                if (!publish.IsSuccess)
                {
                    return new ScriptResult(false, $"the fault reading was not accepted: {Show(publish)}");
                }

                await Poll.UntilAsync($"the alert on {topic}", () => Task.FromResult(received.Count),
                    _ => { lock (received) { return received.Contains(topic); } }, within: Deadline, cancellationToken: context.Ct);
                return new ScriptResult(sub.Items.Single().ResultCode == MqttClientSubscribeResultCode.GrantedQoS1 && publish.IsSuccess,
                    $"SUBACK {(byte)sub.Items.Single().ResultCode:X2}; {Show(publish)}; received {topic}")
                {
                    MustBeStored = [F.AlarmSensor],
                };
            }
            finally
            {
                await DisposeAsync(client);
            }
        }), Expectation.Scripted("SUBACK granted; the alert arrives")) { OnlyInRound = 0 };
    }

    HostileCase Subscribes(Markers markers, string name, string user, string password, (string Filter, string? Reason)[] filters) =>
        new(Category, name, markers.Next(), new ScriptAction(async context =>
        {
            var client = await ConnectAsync(context, context.Case.Marker, user, password);
            try
            {
                var seen = new List<string>();
                var met = true;
                foreach (var (filter, reason) in filters)
                {
                    var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), context.Ct);
                    var code = result.Items.Single().ResultCode;
                    seen.Add($"{filter}: SUBACK {(byte)code:X2}");
                    met &= reason is null ? code == MqttClientSubscribeResultCode.GrantedQoS1 : code == MqttClientSubscribeResultCode.NotAuthorized;
                }

                return new ScriptResult(met && client.IsConnected, string.Join("; ", seen))
                {
                    Counted = [.. filters.Where(f => f.Reason is not null).GroupBy(f => f.Reason!).Select(g => (Counter.Subscriptions, g.Key, g.Count()))],
                };
            }
            finally
            {
                await DisposeAsync(client);
            }
        }), Expectation.Scripted("SUBACK 0x87 for each foreign filter (counted by reason), granted for its own")) { OnlyInRound = 0 };
}
