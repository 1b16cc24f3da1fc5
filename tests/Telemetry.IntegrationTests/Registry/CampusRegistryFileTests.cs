using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Telemetry.Domain.Campus;
using Telemetry.Service.Registry;

namespace Telemetry.IntegrationTests.Registry;

/// <summary>The registry file on a real disk, in a temp folder per test; reloads are awaited with a deadline.</summary>
public sealed class CampusRegistryFileTests : IDisposable
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    static readonly TimeSpan FastPoll = TimeSpan.FromMilliseconds(100);

    readonly string directory = Directory.CreateTempSubdirectory("telemetry-registry-test-").FullName;
    readonly CapturingLogger logger = new();
    readonly List<IDisposable> owned = [];

    string RegistryPath => Path.Combine(directory, "campus.yaml");

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static string Valid(string campusId, string sensorId = "s1") => $$"""
        campus: { id: {{campusId}} }
        kinds:
          t:
            interval: 60s
            metrics: { temperature: { unit: C, rollup: temperature } }
        buildings:
          - id: b
            rooms:
              - id: r
                sensors:
                  - { id: {{sensorId}}, kind: t }
        """;

    // Line 4: interval 0s; line 11: kind 'nope' is not defined.
    const string Invalid = """
        campus: { id: broken }
        kinds:
          t:
            interval: 0s
            metrics: { temperature: { unit: C } }
        buildings:
          - id: b
            rooms:
              - id: r
                sensors:
                  - { id: s1, kind: nope }
        """;

    CampusRegistryFile Open(bool watch = true)
    {
        var file = new CampusRegistryFile(RegistryPath, logger, FastPoll, watch);
        owned.Add(file);
        return file;
    }

    static async Task<CampusRegistry> NextChange(CampusRegistryFile file, Action change)
    {
        var before = file.Current;
        change();
        return await Poll.UntilAsync("the edit to be applied", () => Task.FromResult(file.Current),
            current => !ReferenceEquals(current, before), Deadline, cancellationToken: Ct);
    }

    [Fact]
    public void The_file_is_loaded_at_construction()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var file = Open();
        Assert.Equal("v1", file.Current.Campus.Id);
        Assert.NotNull(file.Current.FindSensor("s1"));
        Assert.Equal(0, file.Reloads);
        Assert.Equal(0, file.FailedReloads);
        Assert.Equal(RegistryPath, file.Path);
    }

    [Fact]
    public void A_missing_file_at_start_is_a_clear_error()
    {
        var ex = Assert.Throws<CampusRegistryException>(() => Open());
        Assert.Contains(RegistryPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_file_at_start_lists_every_error()
    {
        File.WriteAllText(RegistryPath, Invalid);
        var ex = Assert.Throws<CampusRegistryException>(() => Open());
        Assert.Equal(2, ex.Errors.Count);
        Assert.Contains("has 2 errors", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{RegistryPath}:4:15: kind 't' interval must be greater than zero", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{RegistryPath}:11:29: sensor 's1': unknown kind 'nope'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_edit_is_applied()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var file = Open();
        var changed = await NextChange(file, () => File.WriteAllText(RegistryPath, Valid("v2", "s2")));
        Assert.Equal("v2", changed.Campus.Id);
        Assert.Same(changed, file.Current);
        Assert.NotNull(file.Current.FindSensor("s2"));
        Assert.Null(file.Current.FindSensor("s1"));
        Assert.Equal(1, file.Reloads);
        Assert.Equal(0, file.FailedReloads);
    }

    [Fact]
    public async Task An_invalid_edit_keeps_the_old_registry_and_logs_every_error_then_a_fix_applies()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var file = Open();
        var before = file.Current;

        File.WriteAllText(RegistryPath, Invalid);
        await Poll.UntilAsync("the invalid edit to be refused", () => Task.FromResult(file.FailedReloads), n => n == 1, Deadline, cancellationToken: Ct);
        Assert.Same(before, file.Current);
        Assert.Equal(0, file.Reloads);
        Assert.Equal(2, file.LastErrors.Count);
        var errors = logger.Messages.Where(m => m.Level == LogLevel.Error).Select(m => m.Text).ToList();
        Assert.Contains(errors, m => m.Contains($"{RegistryPath}:4:15: kind 't' interval", StringComparison.Ordinal));
        Assert.Contains(errors, m => m.Contains($"{RegistryPath}:11:29: sensor 's1': unknown kind 'nope'", StringComparison.Ordinal));

        var fixedRegistry = await NextChange(file, () => File.WriteAllText(RegistryPath, Valid("v3")));
        Assert.Equal("v3", fixedRegistry.Campus.Id);
        Assert.Same(fixedRegistry, file.Current);
        Assert.Equal(1, file.Reloads);
        Assert.Equal(1, file.FailedReloads);
        Assert.Empty(file.LastErrors);
    }

    [Fact]
    public async Task A_reload_with_an_alert_band_that_could_never_clear_is_refused_at_the_key_and_the_old_registry_stays()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var file = Open();
        var before = file.Current;

        // The band of issue 10: below + hysteresis (8) lies above above − hysteresis (7), so no value could clear it.
        File.WriteAllText(RegistryPath, """
            campus: { id: v2 }
            kinds:
              fridge:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: band, type: threshold, metric: temperature, above: 10, below: 5, hysteresis: 3, severity: warning }
            buildings: []
            """);
        await Poll.UntilAsync("the edit with the never-clearing band to be refused", () => Task.FromResult(file.FailedReloads), n => n == 1, Deadline, cancellationToken: Ct);
        Assert.Same(before, file.Current);
        Assert.Equal(0, file.Reloads);
        var error = Assert.Single(file.LastErrors);
        Assert.Equal((7, 92), (error.Line, error.Column)); // the value of hysteresis (counted by hand)
        Assert.Contains($"{RegistryPath}:7:92: kind 'fridge' alert rule 'band': hysteresis (3)", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("could never clear", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_editor_style_replace_by_rename_is_seen()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var file = Open();
        var changed = await NextChange(file, () =>
        {
            var temp = Path.Combine(directory, ".campus.yaml.tmp");
            File.WriteAllText(temp, Valid("renamed"));
            File.Move(temp, RegistryPath, overwrite: true);
        });
        Assert.Equal("renamed", changed.Campus.Id);
    }

    [Fact]
    public async Task Polling_alone_notices_a_change_that_keeps_the_size()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var file = Open(watch: false);
        var changed = await NextChange(file, () => File.WriteAllText(RegistryPath, Valid("v9")));
        Assert.Equal("v9", changed.Campus.Id);
        Assert.Equal(1, file.Reloads);
    }

    [Fact]
    public async Task A_deleted_file_keeps_the_registry_until_it_comes_back()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var file = Open();
        var before = file.Current;

        File.Delete(RegistryPath);
        await Poll.UntilAsync("the missing file to be noticed", () => Task.FromResult(file.FailedReloads), n => n == 1, Deadline, cancellationToken: Ct);
        Assert.Same(before, file.Current);
        Assert.Contains(logger.Messages, m => m.Level == LogLevel.Error && m.Text.Contains("is gone", StringComparison.Ordinal));

        var back = await NextChange(file, () => File.WriteAllText(RegistryPath, Valid("v2")));
        Assert.Equal("v2", back.Campus.Id);
        Assert.Equal(1, file.FailedReloads);
    }

    [Fact]
    public void Without_a_registry_path_the_empty_registry_is_used()
    {
        using var services = new ServiceCollection()
            .AddCampusRegistry(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Campus:RegistryPath"] = "",
            }).Build())
            .BuildServiceProvider();
        Assert.Same(CampusRegistry.Empty, services.GetRequiredService<ICampusRegistrySource>().Current);
    }

    [Fact]
    public void With_a_registry_path_the_file_is_the_source()
    {
        File.WriteAllText(RegistryPath, Valid("from-di"));
        using var services = new ServiceCollection()
            .AddLogging()
            .AddCampusRegistry(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Campus:RegistryPath"] = RegistryPath,
                ["Campus:RegistryPollInterval"] = "00:00:00.500",
            }).Build())
            .BuildServiceProvider();
        var source = services.GetRequiredService<ICampusRegistrySource>();
        Assert.Equal("from-di", source.Current.Campus.Id);
        Assert.Same(services.GetRequiredService<CampusRegistryFile>(), source);
    }

    public void Dispose()
    {
        foreach (var item in owned)
        {
            item.Dispose();
        }
        Directory.Delete(directory, recursive: true);
    }

    sealed class CapturingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Messages { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue((logLevel, formatter(state, exception)));
    }
}
