using System.Globalization;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;
using F = Telemetry.IntegrationTests.Hostile.HostileFixture;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Slow-loris sockets: no CONNECT, half a CONNECT, a CONNECT dripped a byte at a time — closed at
/// <c>Broker:ConnectTimeout</c> (<see cref="HostileFixture.ConnectTimeout"/>) and counted <c>connect_timeout</c>; keep-alive
/// 0 and 65,535 and then silence — told the broker's maximum (MQTT 5 Server Keep Alive) and closed after 1.5 × it. Each
/// checks that the socket was held no shorter than the limit says (a lower bound the broker sets, not a speed limit on
/// it). First round only. (The fixture has no TLS listener: a TLS socket that never finishes its handshake is in
/// Broker.TlsListenerTests.)
/// </summary>
public sealed class SlowLorisCases : IHostileCaseSource
{
    public string Category => "slow-loris";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        (string Name, Func<string, byte[]> Bytes, int DripMs)[] beforeConnect =
        [
            ("TCP connection that sends nothing", _ => [], 0),
            ("one byte of a CONNECT header, then silence", _ => [0x10], 0),
            ("a CONNECT header announcing 200 bytes, 20 sent", m => [0x10, 0xC8, 0x01, .. Connect(V5, Utf8(m))[2..20]], 0),
            ("a CONNECT cut off before its client id", m => Connect(V5, Utf8(m))[..12], 0),
            ("a whole MQTT 5 CONNECT, one byte every 400 ms", m => Connect(V5, Utf8(m)), 400),
            ("a whole MQTT 3.1.1 CONNECT, one byte every 400 ms", m => Connect(V311, Utf8(m)), 400),
        ];
        foreach (var (name, bytes, drip) in beforeConnect)
        {
            yield return new HostileCase(Category, name, markers.Next(), new ScriptAction(context => BeforeConnectAsync(context, bytes, drip)),
                Expectation.Scripted($"closed at Broker:ConnectTimeout ({F.ConnectTimeout.TotalSeconds:0} s), counted connect_timeout")) { OnlyInRound = 0 };
        }

        foreach (var (keepAlive, v5) in new (ushort, bool)[] { (0, true), (65535, true), (0, false), (65535, false), (3600, true) })
        {
            yield return new HostileCase(Category, $"keep-alive {keepAlive} on MQTT {(v5 ? "5" : "3.1.1")}, then silence", markers.Next(),
                new ScriptAction(context => IdleAfterConnectAsync(context, keepAlive, v5)),
                Expectation.Scripted($"{(v5 ? $"Server Keep Alive {F.MaxKeepAlive} in CONNACK, " : "")}closed after 1.5 × Broker:MaxKeepAlive ({F.MaxKeepAlive} s)")) { OnlyInRound = 0 };
        }
    }

    static async Task<ScriptResult> BeforeConnectAsync(ScriptContext context, Func<string, byte[]> bytes, int dripMs)
    {
        using var raw = await RawClient.OpenAsync(context.Port, context.Source, context.Ct);
        var data = bytes(context.Case.Marker);
        var reading = raw.UntilClosedAsync();
        var written = 0;
        if (dripMs == 0)
        {
            written = await raw.SendAsync(data) ? data.Length : 0;
        }
        else
        {
            // A slow client by design (one byte per interval), not a wait for synchronisation.
            foreach (var b in data)
            {
                if (reading.IsCompleted || !await raw.SendAsync([b]))
                {
                    break;
                }

                written++;
                await Task.WhenAny(reading, Task.Delay(dripMs, context.Ct));
            }
        }

        var packets = await reading;
        var closedAfter = raw.Clock.Elapsed;
        var met = packets.Count == 0 && closedAfter >= F.ConnectTimeout * 0.95 && written < data.Length + 1;
        return new ScriptResult(met, string.Create(CultureInfo.InvariantCulture,
            $"{written} of {data.Length} bytes written; closed after {closedAfter.TotalSeconds:F1} s{(packets.Count > 0 ? $" after {packets.Count} packets" : "")}"))
        {
            Counted = [(Counter.Connections, "connect_timeout", 1)],
        };
    }

    static async Task<ScriptResult> IdleAfterConnectAsync(ScriptContext context, ushort keepAlive, bool v5)
    {
        using var raw = await RawClient.OpenAsync(context.Port, context.Source, context.Ct);
        await raw.SendAsync(Connect(v5 ? V5 : V311, Utf8(context.Case.Marker), keepAlive: keepAlive));
        if (await raw.NextAsync() is not { } connAck || (connAck.Header & 0xF0) != 0x20 || connAck.Body.Length < 2 || connAck.Body[1] != 0)
        {
            return new ScriptResult(false, "the CONNECT was not accepted");
        }

        var connectedAt = raw.Clock.Elapsed;
        var serverKeepAlive = v5 ? RawClient.ServerKeepAlive(connAck.Body) : null;
        var packets = await raw.UntilClosedAsync();
        var idle = raw.Clock.Elapsed - connectedAt;
        var met = (!v5 || serverKeepAlive == F.MaxKeepAlive)
            && idle >= TimeSpan.FromSeconds(1.5 * F.MaxKeepAlive * 0.95)
            && packets.All(p => (p.Header & 0xF0) == 0xE0);
        return new ScriptResult(met, string.Create(CultureInfo.InvariantCulture,
            $"{(v5 ? $"Server Keep Alive {serverKeepAlive?.ToString(CultureInfo.InvariantCulture) ?? "absent"}; " : "")}closed after {idle.TotalSeconds:F1} s idle"));
    }
}
