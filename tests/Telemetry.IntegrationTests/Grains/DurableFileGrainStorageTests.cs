using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Persistence;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>The grain storage on its own, on a real temp directory.</summary>
public sealed class DurableFileGrainStorageTests : IDisposable
{
    readonly string directory = Path.Combine(Path.GetTempPath(), "telemetry-storage-" + Guid.NewGuid().ToString("N"));

    DurableFileGrainStorage Storage() => new(directory, NullLogger<DurableFileGrainStorage>.Instance);

    static AlertInfo Alert(string id) => new(id, "b1", "r1", "s1", "rule", AlertRuleType.Threshold, AlertSeverity.Critical, AlertState.Acknowledged, 1_700_000_000_000,
        -9.5, "Freezer is warming up: temperature -9.5 °C above -15", 1_700_000_060_000, "alice", "on it", null, null, false);

    [Fact]
    public async Task Written_state_reads_back_equal()
    {
        var grain = GrainId.Create("alertindex", "campus/with slash");
        var written = new GrainState<AlertIndexState>(new AlertIndexState());
        written.State!.Active["s1/rule/1"] = Alert("s1/rule/1");
        written.State!.Recent.Add(Alert("s1/rule/0") with { State = AlertState.Cleared, ClearedAtMs = 1_700_000_000_500, ClearedBy = "auto" });

        await Storage().WriteStateAsync("alerts", grain, written);
        var read = new GrainState<AlertIndexState>(new AlertIndexState());
        await Storage().ReadStateAsync("alerts", grain, read);

        Assert.True(written.RecordExists);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(written.State!.Active["s1/rule/1"], read.State!.Active["s1/rule/1"]);
        Assert.Equal(written.State!.Recent, read.State!.Recent);
        Assert.Single(Directory.GetFiles(directory, "*.state"));
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
    }

    [Fact]
    public async Task Missing_state_reads_as_no_record()
    {
        var read = new GrainState<AlertIndexState>(new AlertIndexState());

        await Storage().ReadStateAsync("alerts", GrainId.Create("alertindex", "nothing-here"), read);

        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.Empty(read.State!.Active);
    }

    [Fact]
    public async Task Keys_that_look_alike_on_disk_keep_their_own_state()
    {
        var slash = new GrainState<AlertIndexState>(new AlertIndexState());
        slash.State!.Active["a"] = Alert("a");
        var underscore = new GrainState<AlertIndexState>(new AlertIndexState());
        underscore.State!.Active["b"] = Alert("b");

        await Storage().WriteStateAsync("alerts", GrainId.Create("alertindex", "x/y"), slash);
        await Storage().WriteStateAsync("alerts", GrainId.Create("alertindex", "x_y"), underscore);
        var read = new GrainState<AlertIndexState>(new AlertIndexState());
        await Storage().ReadStateAsync("alerts", GrainId.Create("alertindex", "x/y"), read);

        Assert.Equal(["a"], read.State!.Active.Keys);
        Assert.Equal(2, Directory.GetFiles(directory, "*.state").Length);
    }

    [Fact]
    public async Task Unreadable_state_is_set_aside_and_the_read_starts_empty()
    {
        var grain = GrainId.Create("sensor", "frz-1");
        var written = new GrainState<AlertIndexState>(new AlertIndexState());
        written.State!.Active["x"] = Alert("x");
        await Storage().WriteStateAsync("alerts", grain, written);
        var file = Assert.Single(Directory.GetFiles(directory, "*.state"));
        await File.WriteAllTextAsync(file, "{\"active\": {\"x\": tru", TestContext.Current.CancellationToken);

        var read = new GrainState<AlertIndexState>(new AlertIndexState());
        await Storage().ReadStateAsync("alerts", grain, read);

        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.Empty(read.State!.Active);
        Assert.False(File.Exists(file));
        var aside = Assert.Single(Directory.GetFiles(directory, Path.GetFileName(file) + ".unreadable-*"));
        Assert.Equal("{\"active\": {\"x\": tru", await File.ReadAllTextAsync(aside, TestContext.Current.CancellationToken));

        // The grain carries on: its next write and read work as if the state had never existed.
        read.State!.Active["y"] = Alert("y");
        await Storage().WriteStateAsync("alerts", grain, read);
        var again = new GrainState<AlertIndexState>(new AlertIndexState());
        await Storage().ReadStateAsync("alerts", grain, again);
        Assert.Equal(["y"], again.State!.Active.Keys);
    }

    [Fact]
    public async Task A_state_file_holding_null_is_set_aside_too()
    {
        var grain = GrainId.Create("sensor", "frz-2");
        await Storage().WriteStateAsync("alerts", grain, new GrainState<AlertIndexState>(new AlertIndexState()));
        var file = Assert.Single(Directory.GetFiles(directory, "*.state"));
        await File.WriteAllTextAsync(file, "null", TestContext.Current.CancellationToken);

        var read = new GrainState<AlertIndexState>(new AlertIndexState());
        await Storage().ReadStateAsync("alerts", grain, read);

        Assert.False(read.RecordExists);
        Assert.NotNull(read.State);
        Assert.Single(Directory.GetFiles(directory, "*.unreadable-*"));
    }

    [Fact]
    public async Task Clear_removes_the_state()
    {
        var grain = GrainId.Create("sensor", "frz-3");
        var state = new GrainState<AlertIndexState>(new AlertIndexState());
        await Storage().WriteStateAsync("alerts", grain, state);

        await Storage().ClearStateAsync("alerts", grain, state);

        Assert.False(state.RecordExists);
        Assert.Empty(Directory.GetFiles(directory, "*.state"));
    }

    public void Dispose()
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
