using System.Text.RegularExpressions;
using Telemetry.Domain.Ingest;
using Telemetry.IntegrationTests.Campus;
using Telemetry.Tests.Dashboards;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// Where <c>./run.sh</c> and the compose stacks keep the derived series (roll-ups, hourly/daily figures, state, alerts):
/// a long-retention policy / bucket named like the dashboards' constant <c>$long_rp</c>, while raw readings keep their
/// shorter retention; and the month of history <c>./run.sh</c> plays.
/// </summary>
public sealed partial class RetentionSettingsTests
{
    readonly ComposeFile compose = ComposeFile.Load();

    string RunScript => File.ReadAllText(Path.Combine(compose.RepositoryRoot, "run.sh"));

    /// <summary>The value of every dashboard's <c>long_rp</c> constant (one value for all).</summary>
    static string DashboardLongPolicy()
    {
        var values = DashboardCatalog.LoadAll()
            .SelectMany(d => d.VariableNodes)
            .Where(v => (string?)v["name"] == "long_rp")
            .SelectMany(v => new[] { (string?)v["query"], (string?)v["current"]?["value"] })
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return Assert.Single(values)!;
    }

    [Fact]
    public void Run_sh_creates_the_long_policy_forever_and_the_service_writes_derived_series_there()
    {
        var script = RunScript;
        var policy = LongPolicyVariable().Match(script);
        Assert.True(policy.Success, "run.sh does not set LONG_RP");

        Assert.Equal(DashboardLongPolicy(), policy.Groups[1].Value);
        Assert.Contains("CREATE RETENTION POLICY \\\"$LONG_RP\\\" ON \\\"campus\\\" DURATION 0s REPLICATION 1", script, StringComparison.Ordinal);
        Assert.Contains("--Influx:LongRetentionPolicy=\"$LONG_RP\"", script, StringComparison.Ordinal);
        // The raw readings stay in the database's default policy: run.sh names no Influx:RetentionPolicy.
        Assert.DoesNotContain("--Influx:RetentionPolicy", script, StringComparison.Ordinal);
        Assert.Equal(CampusDayFixture.LongRetentionPolicy, policy.Groups[1].Value);
    }

    [Fact]
    public void Run_sh_plays_a_month_of_history_the_service_accepts_and_can_be_told_not_to()
    {
        var script = RunScript;
        var backfill = BackfillDefault().Match(script);
        Assert.True(backfill.Success, "run.sh has no BACKFILL default");

        // The whole span must be younger than Ingest:MaxAge when it arrives, or its oldest readings are refused.
        var days = int.Parse(backfill.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(TimeSpan.FromDays(days) < new IngestLimits().MaxAge, $"BACKFILL {days}d is not below Ingest:MaxAge {new IngestLimits().MaxAge}");
        Assert.Contains("--backfill \"$BACKFILL\"", script, StringComparison.Ordinal);
        Assert.Contains(">\"$DATA/backfill.log\"", script, StringComparison.Ordinal);
        Assert.Contains("[ \"$BACKFILL\" != \"0\" ]", script, StringComparison.Ordinal);

        // History is played after the "running" message, not before it.
        Assert.True(script.IndexOf("Campus Telemetry is running.", StringComparison.Ordinal) < script.IndexOf("--backfill", StringComparison.Ordinal));
    }

    [Fact]
    public void Compose_writes_derived_series_to_a_long_bucket_mapped_as_the_dashboards_policy()
    {
        var telemetry = compose.Environment("telemetry").ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);
        var influxdb = compose.Environment("influxdb").ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);
        var script = File.ReadAllText(Path.Combine(compose.DeployDirectory, "influxdb", "10-campus-dbrp.sh"));

        Assert.Equal(DashboardLongPolicy(), telemetry["Influx__LongRetentionPolicy"]);
        // The service's long bucket and the one the init script creates are the same, and there is one by default.
        Assert.Equal("${INFLUX_LONG_BUCKET:-campus-long}", telemetry["Influx__LongBucket"]);
        Assert.Equal(telemetry["Influx__LongBucket"], influxdb["CAMPUS_LONG_BUCKET"]);
        Assert.Contains($"--rp {DashboardLongPolicy()}", script, StringComparison.Ordinal);
        // Raw readings keep their 90 days; the long bucket is kept forever unless told otherwise.
        Assert.Equal("${INFLUX_RETENTION:-90d}", influxdb["DOCKER_INFLUXDB_INIT_RETENTION"]);
        Assert.Equal("${INFLUX_LONG_RETENTION:-0}", influxdb["CAMPUS_LONG_RETENTION"]);
    }

    [Fact]
    public void The_cluster_stack_uses_the_same_long_bucket_and_policy()
    {
        var text = File.ReadAllText(Path.Combine(compose.DeployDirectory, "docker-compose.cluster.yml"));

        Assert.Matches($"(?m)^  Influx__LongRetentionPolicy: {DashboardLongPolicy()}$", text);
        Assert.Matches(@"(?m)^  Influx__LongBucket: \$\{INFLUX_LONG_BUCKET:-campus-long\}$", text);
        Assert.Matches(@"(?m)^      CAMPUS_LONG_BUCKET: \$\{INFLUX_LONG_BUCKET:-campus-long\}$", text);
    }

    [GeneratedRegex(@"(?m)^LONG_RP=(\w+)$")]
    private static partial Regex LongPolicyVariable();

    [GeneratedRegex(@"(?m)^BACKFILL=""\$\{BACKFILL-(\d+)d\}""$")]
    private static partial Regex BackfillDefault();
}
