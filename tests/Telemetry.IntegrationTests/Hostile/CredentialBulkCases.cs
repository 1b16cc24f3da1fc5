using System.Net;
using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;
using static Telemetry.IntegrationTests.Hostile.ScriptClients;
using F = Telemetry.IntegrationTests.Hostile.HostileFixture;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Wrong credentials in bulk: 200 wrong passwords from one address, one after the other — the first
/// <c>Broker:LoginThrottle:MaxFailures</c> answered <c>bad_credentials</c> (0x86), every later one <c>login_throttled</c>
/// (0x87) without hashing; then the right password from that address is refused too, while the same identity logs in
/// from another address (the lock is per address here: the fixture turns the per-username key off). The addresses are
/// 127.0.0.3 and 127.0.0.4, nobody else's: the good device (127.0.0.2) and the other cases are not affected, which the
/// good device shows by publishing on. First round only: the lock lasts minutes.
/// </summary>
public sealed class CredentialBulkCases : IHostileCaseSource
{
    public string Category => "credentials-bulk";

    public const int Attempts = 200;

    static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.3");

    static readonly IPAddress Elsewhere = IPAddress.Parse("127.0.0.4");

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        yield return new HostileCase(Category, $"{Attempts} wrong passwords for {F.BulkUser} from one address, then the right one from there and from another", markers.Next(),
            new ScriptAction(async context =>
            {
                var m = context.Case.Marker;
                var codes = new List<byte?>();
                for (var i = 0; i < Attempts; i++)
                {
                    codes.Add(await ConnAckAsync(context.Port, context.Source, Connect(V5, Utf8($"{m}-{i}"), Utf8(F.BulkUser), Utf8($"guess-{i}")), context.Ct));
                }

                var rightThere = await ConnAckAsync(context.Port, context.Source, Connect(V5, Utf8($"{m}-right"), Utf8(F.BulkUser), Utf8(F.BulkPassword)), context.Ct);
                var rightElsewhere = await ConnAckAsync(context.Port, Elsewhere, Connect(V5, Utf8($"{m}-elsewhere"), Utf8(F.BulkUser), Utf8(F.BulkPassword)), context.Ct);
                const byte Bad = (byte)MqttConnectReasonCode.BadUserNameOrPassword, Locked = (byte)MqttConnectReasonCode.NotAuthorized;
                var bad = codes.TakeWhile(c => c == Bad).Count();
                var locked = codes.Skip(bad).Count(c => c == Locked);
                var met = bad == F.MaxFailedLogins && bad + locked == Attempts && rightThere == Locked && rightElsewhere == 0;
                return new ScriptResult(met,
                    $"{bad} × CONNACK 86 then {locked} × 87 of {Attempts} (others: {string.Join(",", codes.Skip(bad).Where(c => c != Locked).Take(5).Select(c => c?.ToString("X2", System.Globalization.CultureInfo.InvariantCulture) ?? "closed"))}); "
                    + $"right password from there: {rightThere:X2}, from {Elsewhere}: {rightElsewhere:X2}")
                {
                    Counted =
                    [
                        (Counter.Connections, "bad_credentials", codes.Count(c => c == Bad)),
                        (Counter.Connections, "login_throttled", codes.Count(c => c == Locked) + (rightThere == Locked ? 1 : 0)),
                    ],
                };
            }, Attacker),
            Expectation.Scripted($"{F.MaxFailedLogins} × CONNACK 0x86 bad_credentials, then 0x87 login_throttled (also for the right password); accepted from another address")) { OnlyInRound = 0 };
    }
}
