using Telemetry.IntegrationTests.Broker;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// The hostile suite's own InfluxDB 1.x and its own service, run as a separate OS process: its <c>/metrics</c> count only
/// this suite's inputs (in-process test hosts share meter names, so their counters add up), and a crash caused by the
/// corpus fails this suite instead of ending the test process.
/// </summary>
public sealed class HostileFixture : IAsyncLifetime
{
    /// <summary>The registered sensor the well-behaved device publishes for.</summary>
    public const string GoodSensor = "good-1";

    public const string GoodTopic = $"campus/hb/hr/{GoodSensor}/telemetry";

    /// <summary>A configured broker user (anonymous clients are allowed too), for the wrong-credential cases.</summary>
    public const string User = "hx-user";

    public const string Password = "hx-secret-0";

    public const string Database = "campus";

    const string Registry = """
        campus: { id: hostile }
        kinds:
          counter:
            interval: 1s
            metrics:
              seq: { unit: count }
        buildings:
          - id: hb
            rooms:
              - id: hr
                sensors:
                  - { id: good-1, kind: counter }

        """;

    string directory = "";
    InfluxDbServer? influx;
    ServiceProcess? service;

    public InfluxDbServer Influx => influx ?? throw new InvalidOperationException("not started");

    public ServiceProcess Service => service ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        directory = Directory.CreateTempSubdirectory("telemetry-it-hostile-").FullName;
        var registryPath = Path.Combine(directory, "campus.yaml");
        await File.WriteAllTextAsync(registryPath, Registry, ct);
        var credentialsPath = Path.Combine(directory, "devices.passwd");
        await File.WriteAllTextAsync(credentialsPath, TestCredentials.Line(User, Password) + "\n", ct);
        influx = await InfluxDbServer.StartAsync(ct);
        await influx.CreateDatabaseAsync(Database, ct);
        service = await ServiceProcess.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={Database}",
                $"--Campus:RegistryPath={registryPath}", $"--Campus:StatePath={Path.Combine(directory, "state")}",
                $"--Broker:CredentialsFile={credentialsPath}", "--Broker:AllowAnonymous=true",
                // Every raw case is a new connection from 127.0.0.1, and the corpus repeats its wrong passwords each
                // round: the per-address connection rate and the failed-login throttle would refuse the corpus itself
                // (they are exercised by their own tests and case sources).
                "--Broker:MaxNewConnectionsPerSecondPerAddress=100000", "--Broker:NewConnectionBurstPerAddress=100000",
                "--Broker:LoginThrottle:Enabled=false",
                "--Broker:ConnectTimeout=00:00:03", // the slow-loris cases before CONNECT wait for it
                "--Serilog:MinimumLevel:Default=Warning",
            ],
            "health/ready", directory, ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (service is not null)
        {
            await service.DisposeAsync();
        }

        if (influx is not null)
        {
            await influx.DisposeAsync();
        }

        if (directory.Length > 0 && Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>The hostile suite's collection: one service for its tests, and not run in parallel with other collections.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileCollection : ICollectionFixture<HostileFixture>
{
    public const string Name = "hostile-input";
}
