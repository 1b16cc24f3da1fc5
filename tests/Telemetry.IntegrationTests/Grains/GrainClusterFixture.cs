using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Grains;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Persistence;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// One in-process silo for the collection "grains", wired as the service wires it (CampusHosting) but with recording
/// fakes for the write pipeline and alert delivery, the registry of <see cref="GrainTestCampus"/>, short timers, and
/// the durable file storage in a temp directory that outlives silo restarts.
/// </summary>
public sealed class GrainClusterFixture : IAsyncLifetime
{
    public const string CollectionName = "grains";

    /// <summary>Short enough that the state lines appear within a test; the kinds' intervals drive the sensor timers.</summary>
    public static readonly TimeSpan StateInterval = TimeSpan.FromMilliseconds(500);

    // The silo configurator is created by the test host from its type, so what it hands to the silo lives here;
    // static also means a restarted silo records into the same writer and notifier.
    internal static RecordingTelemetryWriter SharedWriter { get; } = new();
    internal static RecordingAlertNotifier SharedNotifier { get; } = new();
    internal static TestAlertDestinations SharedDestinations { get; } = new();
    internal static Telemetry.Domain.Alerts.AlertEngineProblems SharedAlertEngineProblems { get; } = new();
    internal static string SharedStateDirectory { get; } =
        Path.Combine(Path.GetTempPath(), "telemetry-grains-" + Guid.NewGuid().ToString("N"));

    TestCluster? cluster;

    public TestCluster Cluster => cluster ?? throw new InvalidOperationException("the grain cluster is not deployed");

    public IGrainFactory Grains => Cluster.GrainFactory;

    public RecordingTelemetryWriter Writer { get; } = SharedWriter;

    public RecordingAlertNotifier Notifier { get; } = SharedNotifier;

    /// <summary>The alert destinations the silo's outboxes deliver to (none until a test adds one).</summary>
    public TestAlertDestinations Destinations { get; } = SharedDestinations;

    /// <summary>The alert-engine problems the silo's sensor grains report (what <c>/health/ready</c> shows).</summary>
    public Telemetry.Domain.Alerts.AlertEngineProblems AlertEngineProblems { get; } = SharedAlertEngineProblems;

    public string StateDirectory { get; } = SharedStateDirectory;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(SharedStateDirectory);
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var built = builder.Build();
        try
        {
            await built.DeployAsync();
        }
        catch
        {
            // xunit does not call DisposeAsync when InitializeAsync throws.
            await built.DisposeAsync();
            throw;
        }

        cluster = built;
    }

    /// <summary>Stops the silo and starts it again on the same state directory; the grains come back from their files.</summary>
    public async Task RestartSiloAsync()
    {
        await Cluster.RestartSiloAsync(Cluster.Primary ?? throw new InvalidOperationException("the cluster has no primary silo"));
        await Cluster.WaitForLivenessToStabilizeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
            cluster = null;
        }

        try
        {
            Directory.Delete(SharedStateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }

    sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var services = siloBuilder.Services;
            services.AddMetrics();
            services.AddSingleton<Telemetry.Domain.Observability.TelemetryMetrics>();
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton(SharedAlertEngineProblems);
            services.AddSingleton<ITelemetryWriter>(SharedWriter);
            services.AddSingleton<Telemetry.Grains.Alerts.Delivery.IAlertDestinations>(SharedDestinations);
            services.AddSingleton<ICampusRegistrySource>(new FixedCampusRegistrySource(GrainTestCampus.Registry));
            services.AddOptions<CampusOptions>().Configure(options =>
            {
                options.StatePath = SharedStateDirectory;
                options.StateInterval = StateInterval;
            });
            services.AddGrainStorage(GrainStorage.Name, (sp, _) => new DurableFileGrainStorage(
                SharedStateDirectory, sp.GetRequiredService<ILogger<DurableFileGrainStorage>>()));
            siloBuilder.AddIncomingGrainCallFilter(SensorCalls.RecordAsync);
            siloBuilder.AddIncomingGrainCallFilter(SharedNotifier.RecordAsync);
            siloBuilder.UseInMemoryReminderService(); // the campus grain's reminder, as with Orleans:Clustering=Localhost
        }
    }
}

[CollectionDefinition(GrainClusterFixture.CollectionName)]
public sealed class GrainClusterCollection : ICollectionFixture<GrainClusterFixture>;

/// <summary>Messages as the grain feeder hands them to sensor grains.</summary>
public static class Messages
{
    /// <summary>The spool the tests' messages come from, unless a test names its own.</summary>
    public static readonly string TestSpool = "test-spool-" + Guid.NewGuid().ToString("N");

    static long nextOffset;

    /// <summary>A position in <see cref="TestSpool"/> after every one handed out before (in segment 1).</summary>
    public static long NextOffset() => Interlocked.Add(ref nextOffset, 100);

    public static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>A minute boundary half an hour ago: reading-time rules and roll-up windows then start on a known grid.</summary>
    public static long MinuteBase() => (NowMs - (30 * 60_000)) / 60_000 * 60_000;

    public static SensorAddress Address(string sensor, string room = GrainTestCampus.LabId) =>
        new(GrainTestCampus.BuildingId, room, sensor);

    public static TelemetryMessage One(SensorAddress address, long timestampMs, params (string Name, double Value)[] metrics) =>
        new(address, [new Reading(timestampMs, [.. metrics.Select(m => new Metric(m.Name, m.Value))])], NowMs);

    /// <summary>One message fed as the grain feeder does: a batch of one, at the next position of <see cref="TestSpool"/>.</summary>
    public static Task IngestAsync(this IGrainFactory grains, SensorAddress address, long timestampMs, params (string Name, double Value)[] metrics)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(address);
        return grains.FeedAsync(One(address, timestampMs, metrics));
    }

    /// <summary>Messages of one sensor as one batch, at the next positions of <see cref="TestSpool"/>.</summary>
    public static Task FeedAsync(this IGrainFactory grains, params TelemetryMessage[] messages)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(messages);
        return grains.GetGrain<ISensorGrain>(messages[0].Address.Sensor)
            .IngestBatch(new FeedBatch(TestSpool, [.. messages.Select(m => new FedMessage(1, NextOffset(), m))]));
    }
}
