using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// Resource errors in the write path, injected through the real file system while devices publish: a path the spool
/// must write is made a directory, which fails even for root (unlike chmod). The host keeps running, /health/ready says
/// Degraded with the failing stage, nothing is acknowledged that was not made durable, and once the obstacle is gone
/// the write path recovers by itself and every acknowledged reading is in InfluxDB exactly once.
/// </summary>
public sealed class WritePathFaultTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_checkpoint_that_cannot_be_written_degrades_the_service_and_recovers_without_a_restart()
    {
        await using var rig = await FaultRig.StartAsync(["--Spool:SegmentBytes=4096"], Ct);
        var runId = $"ckpt-{Guid.NewGuid():N}"[..13];
        await using var load = SteadyLoad.Start(() => rig.Service.MqttPort, runId, deviceCount: 3, interval: TimeSpan.FromMilliseconds(10));
        await load.WaitForMoreAcksAsync(50, Within, Ct);

        var checkpoint = Path.Combine(rig.Service.SpoolPath, "checkpoint");
        await Poll.UntilAsync("the checkpoint path to be a directory", () => Task.FromResult(ReplaceWithDirectory(checkpoint)), made => made, Within, cancellationToken: Ct);

        var degraded = await Poll.UntilAsync("write_path to report the failing checkpoint", () => WritePathHealthAsync(rig, Ct),
            h => h.Status == "Degraded" && h.Description.Contains("spool_checkpoint", StringComparison.Ordinal), Within, cancellationToken: Ct);
        Assert.Contains("not_a_file", degraded.Description, StringComparison.Ordinal);
        Assert.True(await Stored.MetricAsync(rig.Service.Http, "telemetry_write_path_errors_total", Ct, "stage=\"spool_checkpoint\"") > 0);

        // Devices are still acknowledged (their readings are durable in the spool) and the host runs on.
        await load.WaitForMoreAcksAsync(100, Within, Ct);
        await AssertHostRunningAsync(rig);

        Directory.Delete(checkpoint);
        await Poll.UntilAsync("write_path to recover by itself", () => WritePathHealthAsync(rig, Ct), h => h.Status == "Healthy", Within, cancellationToken: Ct);
        await Poll.UntilAsync("the checkpoint to be a file again", () => Task.FromResult(File.Exists(checkpoint)), exists => exists, Within, cancellationToken: Ct);

        await load.WaitForMoreAcksAsync(100, Within, Ct);
        await load.StopAsync();
        await Stored.AssertEveryAcknowledgedReadingStoredOnceAsync(rig.Influx, runId, load, Within, Ct);
    }

    [Fact]
    public async Task A_segment_that_cannot_be_created_withholds_acknowledgements_and_the_spool_recovers_without_a_restart()
    {
        await using var rig = await FaultRig.StartAsync(["--Spool:SegmentBytes=4096"], Ct);
        var runId = $"segm-{Guid.NewGuid():N}"[..13];
        await using var load = SteadyLoad.Start(() => rig.Service.MqttPort, runId, deviceCount: 3, interval: TimeSpan.FromMilliseconds(10),
            ackTimeout: TimeSpan.FromSeconds(10));
        await load.WaitForMoreAcksAsync(20, Within, Ct);

        // The next few segment files the appender would create are directories: creating any of them fails.
        var newest = Directory.EnumerateFiles(rig.Service.SpoolPath, "*.seg")
            .Select(p => long.Parse(Path.GetFileNameWithoutExtension(p), CultureInfo.InvariantCulture)).Max();
        var blocked = Enumerable.Range(1, 5).Select(i => Path.Combine(rig.Service.SpoolPath, $"{newest + i:D12}.seg")).ToList();
        blocked.ForEach(p => Directory.CreateDirectory(p));

        await Poll.UntilAsync("write_path to report the failing append", () => WritePathHealthAsync(rig, Ct),
            h => h.Status == "Degraded" && h.Description.Contains("spool_append", StringComparison.Ordinal), Within, cancellationToken: Ct);
        var unacknowledged = load.UnacknowledgedAttempts;
        await Poll.UntilAsync("devices to see publishes end without a PUBACK", () => Task.FromResult(load.UnacknowledgedAttempts),
            n => n > unacknowledged, Within, cancellationToken: Ct);
        Assert.True(await Stored.MetricAsync(rig.Service.Http, "telemetry_write_path_errors_total", Ct, "stage=\"spool_append\"") > 0);
        await AssertHostRunningAsync(rig);

        blocked.ForEach(p => Directory.Delete(p));
        await load.WaitForMoreAcksAsync(200, Within, Ct);
        await Poll.UntilAsync("write_path to recover by itself", () => WritePathHealthAsync(rig, Ct), h => h.Status == "Healthy", Within, cancellationToken: Ct);

        await load.StopAsync();
        await Stored.AssertEveryAcknowledgedReadingStoredOnceAsync(rig.Influx, runId, load, Within, Ct);
    }

    /// <summary>Replaces <paramref name="path"/> (a file the drainer renames over now and then) by a directory; false if it raced.</summary>
    static bool ReplaceWithDirectory(string path)
    {
        try
        {
            File.Delete(path);
            Directory.CreateDirectory(path);
            return Directory.Exists(path);
        }
        catch (IOException)
        {
            return false;
        }
    }

    static async Task AssertHostRunningAsync(FaultRig rig)
    {
        Assert.False(rig.Service.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        using var live = await rig.Service.Http.GetAsync(new Uri("health/live", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    static async Task<(string Status, string Description)> WritePathHealthAsync(FaultRig rig, CancellationToken ct)
    {
        using var response = await rig.Service.Http.GetAsync(new Uri("health/ready", UriKind.Relative), ct);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var check = doc.RootElement.GetProperty("checks").GetProperty("write_path");
        return (check.GetProperty("status").GetString()!, check.GetProperty("description").GetString() ?? "");
    }
}
