using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;
using static Telemetry.IntegrationTests.Hostile.ScriptClients;
using F = Telemetry.IntegrationTests.Hostile.HostileFixture;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Identity spoofing: devices of the credential store (and anonymous clients) trying to act as another device —
/// publishing for its sensor, taking over its client id, forging alerts, logging in with a wrong or no password.
/// </summary>
/// <remarks>
/// Not here: anonymous devices refused (the fixture allows them, see <see cref="HostileFixture"/>) and the TLS identity
/// cases (the fixture has no TLS listener; Broker.TlsListenerTests and DeviceIdentityTests cover them with real clients).
/// Logins hash a password (PBKDF2, ~0.1 s of CPU): those cases run in the first round only.
/// </remarks>
public sealed class IdentitySpoofingCases : IHostileCaseSource
{
    public string Category => "identity";

    const byte NotAuthorized = (byte)MqttPubAckReasonCode.NotAuthorized;

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        // Publishing as another device: the identity decides, not the topic or the client id.
        yield return Publishes(markers, $"{F.OtherDevice} publishes a reading for the good device's sensor",
            F.OtherDevice, F.OtherPassword, clientId: m => m, _ => F.GoodTopic, m => $"{{\"seq\":-1,\"{m}\":1}}", "sensor_not_allowed");
        yield return Publishes(markers, $"{F.OtherDevice} with the good device's sensor id as client id publishes for it",
            F.OtherDevice, F.OtherPassword, clientId: _ => "good-1x", _ => F.GoodTopic, m => $"{{\"seq\":-2,\"{m}\":1}}", "sensor_not_allowed");
        yield return Publishes(markers, $"{F.OtherDevice} publishes for an unregistered sensor that is not its own",
            F.OtherDevice, F.OtherPassword, clientId: m => m, m => Shapes.Topic(m), _ => "{\"temperature\":1}", "sensor_not_allowed");
        yield return Publishes(markers, $"{F.Dashboard} (alerts role) publishes for the good device's sensor",
            F.Dashboard, F.DashboardPassword, clientId: m => m, _ => F.GoodTopic, m => $"{{\"seq\":-3,\"{m}\":1}}", "sensor_not_allowed");

        // Forged alerts, also by an identity with the alerts role and for the identity's own sensor.
        yield return Publishes(markers, $"{F.Dashboard} (alerts role) publishes under the alert root",
            F.Dashboard, F.DashboardPassword, clientId: m => m, m => $"campus/alerts/hb/hr/{F.AlarmSensor}/{m}", m => $"{{\"event\":\"cleared\",\"{m}\":1}}", "forged_alert");
        yield return Publishes(markers, $"{F.OtherDevice} publishes an alert for its own sensor",
            F.OtherDevice, F.OtherPassword, clientId: m => m, m => $"campus/alerts/hb/hr/{F.OtherDevice}/{m}", m => $"{{\"event\":\"raised\",\"{m}\":1}}", "forged_alert");

        // The positive control: the same identity publishing for its own sensor is accepted and stored.
        var own = markers.Next();
        yield return new HostileCase(Category, $"{F.OtherDevice} publishes for its own sensor (accepted)", own, new ScriptAction(async context =>
        {
            var client = await ConnectAsync(context, context.Case.Marker, F.OtherDevice, F.OtherPassword);
            try
            {
                var result = await PublishAsync(client, $"campus/hb/hr/{F.OtherDevice}/telemetry", "{\"temperature\":4.5}", context.Ct);
                return new ScriptResult(result.IsSuccess && client.IsConnected, Show(result)) { MustBeStored = [F.OtherDevice] };
            }
            finally
            {
                await DisposeAsync(client);
            }
        }), Expectation.Scripted($"accepted and stored as sensor {F.OtherDevice}")) { OnlyInRound = 0 };

        // Taking over the good device's client id: refused, and the good device stays connected.
        yield return new HostileCase(Category, "anonymous CONNECT with the good device's client id", markers.Next(),
            new RawAction(_ => Connect(V5, Utf8(F.GoodSensor)), RawStart.Nothing),
            Expectation.ConnectRefused("client_id_in_use", MqttConnectReasonCode.ClientIdentifierNotValid));
        yield return new HostileCase(Category, "anonymous MQTT 3.1.1 CONNECT with the good device's client id", markers.Next(),
            new RawAction(_ => Connect(V311, Utf8(F.GoodSensor)), RawStart.Nothing),
            new Expectation(Outcome.ConnectRefused, "client_id_in_use", 0x02)); // 3.1.1: identifier rejected
        var takeover = markers.Next();
        yield return new HostileCase(Category, $"{F.OtherDevice} logs in with the good device's client id", takeover, new ScriptAction(async context =>
        {
            var code = await ConnAckAsync(context.Port, context.Source,
                Connect(V5, Utf8(F.GoodSensor), Utf8(F.OtherDevice), Utf8(F.OtherPassword)), context.Ct);
            var good = context.GoodDeviceConnected();
            return new ScriptResult(code == (byte)MqttConnectReasonCode.ClientIdentifierNotValid && good,
                $"CONNACK {code:X2}; the good device {(good ? "still connected" : "DISCONNECTED")}")
            {
                Counted = [(Counter.Connections, "client_id_in_use", 1)],
            };
        }), Expectation.Scripted("CONNACK 0x85, counted client_id_in_use; the good device stays connected")) { OnlyInRound = 0 };

        // Wrong or missing passwords for store identities (each from an address of its own).
        (string Name, Func<string, byte[]> Connect, byte Code)[] logins =
        [
            ("the good device's identity with a wrong password", m => Connect(V5, Utf8(m), Utf8(F.GoodSensor), Utf8("guess")), 0x86),
            ("the good device's identity without a password", m => Connect(V5, Utf8(m), Utf8(F.GoodSensor)), 0x86),
            ("another identity's password for the good device", m => Connect(V5, Utf8(m), Utf8(F.GoodSensor), Utf8(F.OtherPassword)), 0x86),
            ("an unknown user name", m => Connect(V5, Utf8(m), Utf8("hx-nobody"), Utf8(F.OtherPassword)), 0x86),
            ("a user name differing only in case", m => Connect(V5, Utf8(m), Utf8(F.OtherDevice.ToUpperInvariant()), Utf8(F.OtherPassword)), 0x86),
            ("a certificate-only identity with a password", m => Connect(V5, Utf8(m), Utf8(F.CertificateOnly), Utf8("")), 0x86),
            ("a certificate-only identity with its '!' as password", m => Connect(V5, Utf8(m), Utf8(F.CertificateOnly), Utf8("!")), 0x86),
            ("MQTT 3.1.1, the good device's identity with a wrong password", m => Connect(V311, Utf8(m), Utf8(F.GoodSensor), Utf8("guess")), 0x04),
        ];
        foreach (var (name, connect, code) in logins)
        {
            yield return new HostileCase(Category, name, markers.Next(), new RawAction(connect, RawStart.Nothing),
                new Expectation(Outcome.ConnectRefused, "bad_credentials", code)) { OnlyInRound = 0 };
        }
    }

    HostileCase Publishes(Markers markers, string name, string user, string password, Func<string, string> clientId,
        Func<string, string> topic, Func<string, string> payload, string reason) =>
        new(Category, name, markers.Next(), new ScriptAction(async context =>
        {
            var m = context.Case.Marker;
            var client = await ConnectAsync(context, clientId(m), user, password);
            try
            {
                var result = await PublishAsync(client, topic(m), payload(m), context.Ct);
                return new ScriptResult(IsRefusal(result, reason, NotAuthorized) && client.IsConnected, Show(result))
                {
                    Counted = [(Counter.Messages, reason, 1)],
                    MustNotBeStored = [m],
                };
            }
            finally
            {
                await DisposeAsync(client);
            }
        }), Expectation.Scripted($"PUBACK 0x87 {reason}, counted; connection kept")) { OnlyInRound = 0 };
}
