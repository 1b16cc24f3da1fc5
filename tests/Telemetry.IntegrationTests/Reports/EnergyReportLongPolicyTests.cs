using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>
/// The report read from the long retention policy (<c>Influx:LongRetentionPolicy=long</c>, the policy created in the
/// database as run.sh does), and the answer when InfluxDB is gone. Each test starts its own InfluxDB and service.
/// </summary>
public sealed class EnergyReportLongPolicyTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Database = "campus";

    [Fact]
    public async Task WithALongPolicy_TheReportReadsThePolicysPoints_NotTheDefaultPolicys()
    {
        await using var rig = await Rig.StartAsync(longPolicy: "long");
        var day = new DateOnly(2026, 10, 25);
        await EnergyReportData.WriteAsync(rig.Influx, Database, "long",
            EnergyReportData.LineProtocol([new WrittenDay("b-south", null, day, 99.75, Peak: 15.25, Power: 1)]), Ct);
        // The same series and time in the default policy, with another value: a read of the wrong policy would show it.
        await EnergyReportData.WriteAsync(rig.Influx, Database, null,
            EnergyReportData.LineProtocol([new WrittenDay("b-south", null, day, 1000, Peak: 99, Power: 1)]), Ct);

        using var answer = await rig.Service.Http.GetAsync(new Uri("api/reports/energy?from=2026-10-25&to=2026-10-25", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var report = await answer.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var row = Assert.Single(report.GetProperty("rows").EnumerateArray());
        Assert.Equal("2026-10-25", row.GetProperty("period").GetString());
        Assert.Equal(99.75, row.GetProperty("energy_kwh").GetDouble());
        Assert.Equal(15.25, row.GetProperty("peak_kw").GetDouble());
        Assert.True(row.GetProperty("complete").GetBoolean());
    }

    [Fact]
    public async Task WhenInfluxDbIsGone_TheReportIs503_SayingSo()
    {
        await using var rig = await Rig.StartAsync(longPolicy: null);
        await rig.Influx.DisposeAsync();

        using var answer = await rig.Service.Http.GetAsync(new Uri("api/reports/energy?from=2026-10-25&to=2026-10-25", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        var problem = await answer.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains("InfluxDB", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("unreachable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    sealed class Rig : IAsyncDisposable
    {
        readonly string directory;

        Rig(string directory, InfluxDbServer influx)
        {
            this.directory = directory;
            Influx = influx;
        }

        public InfluxDbServer Influx { get; }

        public TelemetryServiceHost Service { get; private set; } = null!;

        public static async Task<Rig> StartAsync(string? longPolicy)
        {
            var directory = Directory.CreateTempSubdirectory("telemetry-it-energy-rp-").FullName;
            var rig = new Rig(directory, await InfluxDbServer.StartAsync(Ct));
            try
            {
                var registry = Path.Combine(directory, "campus.yaml");
                await File.WriteAllTextAsync(registry, EnergyReportData.Registry("energy-rp-campus"), Ct);
                await rig.Influx.CreateDatabaseAsync(Database, Ct);
                string[] policy = [];
                if (longPolicy is not null)
                {
                    await rig.Influx.QueryAsync(null, $"CREATE RETENTION POLICY {InfluxDbServer.QuoteIdentifier(longPolicy)} ON {InfluxDbServer.QuoteIdentifier(Database)} DURATION 0s REPLICATION 1", Ct);
                    policy = [$"--Influx:LongRetentionPolicy={longPolicy}"];
                }

                rig.Service = await TelemetryServiceHost.StartAsync(
                    ["--Influx:Api=V1", $"--Influx:Url={rig.Influx.Url}", $"--Influx:Database={Database}", $"--Campus:RegistryPath={registry}",
                        "--Reports:Enabled=false", .. policy], Ct);
                return rig;
            }
            catch
            {
                await rig.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Service is not null)
            {
                await Service.DisposeAsync();
            }

            await Influx.DisposeAsync();
            TestServer.DeleteDirectory(directory);
        }
    }
}
