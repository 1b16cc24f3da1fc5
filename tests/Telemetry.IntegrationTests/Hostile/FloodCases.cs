using System.Diagnostics;
using System.Globalization;
using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;
using static Telemetry.IntegrationTests.Hostile.ScriptClients;
using F = Telemetry.IntegrationTests.Hostile.HostileFixture;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Floods from one connection, with the fixture's per-connection limit low (<see cref="HostileFixture.MaxMessagesPerSecond"/>,
/// burst <see cref="HostileFixture.MessageBurst"/>, disconnect after <see cref="HostileFixture.RateLimitDisconnectAfter"/>):
/// a QoS 1 flood within the disconnect time is slowed (its PUBACKs wait) and loses nothing; QoS 0 floods kept up beyond it
/// are disconnected (<c>rate_limited</c>, MQTT 5 DISCONNECT 0x96). They publish for registered sensors of their own
/// (<c>flood-0</c>, <c>flood-1</c>): what a flood gets accepted is valid and stored. Meanwhile the good device's p99 is
/// measured by the test, as for every other case. First round only (each takes seconds).
/// </summary>
public sealed class FloodCases : IHostileCaseSource
{
    public string Category => "flood";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        yield return new HostileCase(Category, "QoS 0 flood on MQTT 5 beyond the disconnect time", markers.Next(),
            new ScriptAction(context => QoS0FloodAsync(context, v5: true)),
            Expectation.Scripted("slowed, then DISCONNECT 0x96 and closed; counted rate_limited")) { OnlyInRound = 0 };
        yield return new HostileCase(Category, "QoS 0 flood on MQTT 3.1.1 beyond the disconnect time", markers.Next(),
            new ScriptAction(context => QoS0FloodAsync(context, v5: false)),
            Expectation.Scripted("slowed, then closed; counted rate_limited")) { OnlyInRound = 0 };
        yield return new HostileCase(Category, "QoS 1 flood within the disconnect time", markers.Next(),
            new ScriptAction(QoS1FloodAsync),
            Expectation.Scripted("slowed to the rate: every PUBACK arrives, none before the rate allows; connection kept")) { OnlyInRound = 0 };
    }

    /// <summary>QoS 0 PUBLISHes as fast as the socket takes them until the server closes the connection.</summary>
    static async Task<ScriptResult> QoS0FloodAsync(ScriptContext context, bool v5)
    {
        using var raw = await RawClient.OpenAsync(context.Port, context.Source, context.Ct, within: TimeSpan.FromSeconds(60));
        await raw.SendAsync(Connect(v5 ? V5 : V311, Utf8(context.Case.Marker)));
        if (await raw.NextAsync() is not { } connAck || (connAck.Header & 0xF0) != 0x20 || connAck.Body[1] != 0)
        {
            return new ScriptResult(false, "the flood's CONNECT was not accepted");
        }

        var topic = Utf8($"campus/hb/hr/{F.FloodSensor0}/telemetry");
        var sent = 0;
        var reading = raw.UntilClosedAsync();
        while (!reading.IsCompleted)
        {
            var batch = new List<byte>();
            for (var i = 0; i < 50; i++, sent++)
            {
                batch.AddRange(Publish(0x30, topic, 0, Utf8($"{{\"seq\":{sent}}}"), v5));
            }

            if (!await raw.SendAsync([.. batch]))
            {
                break;
            }
        }

        var packets = await reading;
        var closedAfter = raw.Clock.Elapsed;
        var disconnect = packets.FirstOrDefault(p => (p.Header & 0xF0) == 0xE0);
        var met = closedAfter >= F.RateLimitDisconnectAfter
            && (!v5 || disconnect.Body is [0x96, ..]);
        var why = !v5 ? "" : disconnect.Body is { Length: > 0 } body ? $" with DISCONNECT {body[0]:X2}" : " without DISCONNECT";
        return new ScriptResult(met, string.Create(CultureInfo.InvariantCulture, $"{sent} QoS 0 PUBLISHes written; closed after {closedAfter.TotalSeconds:F1} s{why}"))
        {
            Counted = [(Counter.Messages, "rate_limited", 1)],
        };
    }

    /// <summary>
    /// Burst + 1 s worth of QoS 1 PUBLISHes in one write (raw, MQTT 5): the burst is read at once, the rest no faster than
    /// the rate (a lower bound the broker must respect, whatever the machine's speed); every one acknowledged, and the
    /// connection still answers a PINGREQ.
    /// </summary>
    static async Task<ScriptResult> QoS1FloodAsync(ScriptContext context)
    {
        const int Count = F.MessageBurst + F.MaxMessagesPerSecond;
        using var raw = await RawClient.OpenAsync(context.Port, context.Source, context.Ct, within: TimeSpan.FromSeconds(60));
        await raw.SendAsync(Connect(V5, Utf8(context.Case.Marker)));
        if (await raw.NextAsync() is not { } connAck || (connAck.Header & 0xF0) != 0x20 || connAck.Body[1] != 0)
        {
            return new ScriptResult(false, "the flood's CONNECT was not accepted");
        }

        var topic = Utf8($"campus/hb/hr/{F.FloodSensor1}/telemetry");
        var clock = Stopwatch.StartNew();
        var sending = raw.SendAsync([.. Enumerable.Range(1, Count).SelectMany(i => Publish(0x32, topic, (ushort)i, Utf8($"{{\"seq\":{i}}}")))]);
        var acked = 0;
        var refused = 0;
        var other = "";
        while (acked + refused < Count && await raw.NextAsync() is { } packet)
        {
            if ((packet.Header & 0xF0) == 0x40)
            {
                if (packet.Body.Length <= 2 || packet.Body[2] == 0)
                {
                    acked++;
                }
                else
                {
                    refused++;
                }
            }
            else
            {
                other = $"packet {packet.Header:X2}";
                break;
            }
        }

        var took = clock.Elapsed;
        await sending;
        var alive = await raw.SendAsync(PingReq) && await raw.NextAsync() is { Header: 0xD0 };
        var minimum = TimeSpan.FromSeconds((Count - F.MessageBurst) / (double)F.MaxMessagesPerSecond * 0.8);
        return new ScriptResult(acked == Count && alive && took >= minimum, string.Create(CultureInfo.InvariantCulture,
            $"{acked} of {Count} acknowledged ({refused} refused{(other.Length > 0 ? ", then " + other : "")}) in {took.TotalSeconds:F2} s (the rate allows no less than {minimum.TotalSeconds:F2} s); {(alive ? "alive" : "closed")}"));
    }
}
