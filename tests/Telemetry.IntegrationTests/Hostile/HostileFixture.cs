using System.Net;
using Telemetry.Domain.Identity;
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

    /// <summary>An identity of the credential store (anonymous clients are allowed too), for the wrong-credential cases.</summary>
    public const string User = "hx-user";

    public const string Password = "hx-secret-0";

    /// <summary>The good device's own password: it logs in as the identity <see cref="GoodSensor"/>.</summary>
    public const string GoodPassword = "good-1-secret";

    /// <summary>Another device's identity (publishes only for the sensor <c>hx-other</c>): the spoofing and sniffing cases use it.</summary>
    public const string OtherDevice = "hx-other";

    public const string OtherPassword = "hx-other-secret";

    /// <summary>A dashboard: the <c>alerts</c> role, and the sensor <see cref="AlarmSensor"/> whose fault it raises for the positive control.</summary>
    public const string Dashboard = "hx-dash";

    public const string DashboardPassword = "hx-dash-secret";

    /// <summary>The identity whose password is guessed in bulk (wrong credentials in bulk).</summary>
    public const string BulkUser = "hx-bulk";

    public const string BulkPassword = "hx-bulk-secret";

    /// <summary>A certificate-only identity (<c>!</c> instead of a hash): no password opens it.</summary>
    public const string CertificateOnly = "hx-cert-only";

    /// <summary>Registered sensors the floods publish for (kind counter), so that what a flood gets stored carries no case marker.</summary>
    public const string FloodSensor0 = "flood-0";

    public const string FloodSensor1 = "flood-1";

    /// <summary>A registered sensor (kind counter) whose unlisted metric names the cardinality attack invents.</summary>
    public const string CardinalitySensor = "card-1";

    /// <summary>A registered freezer with a fault-code alert: the alerts-role subscriber's positive control.</summary>
    public const string AlarmSensor = "alarm-1";

    /// <summary>A registered sensor for the fresh device after the attack (registered: the attack used up this minute's new unregistered sensors).</summary>
    public const string FreshSensor = "fresh-1";

    public const string AlarmRule = "freezer-fault";

    /// <summary>The good device's source address: no per-address limit an attack triggers can reach it.</summary>
    public static readonly IPAddress GoodDeviceAddress = IPAddress.Parse("127.0.0.2");

    /// <summary>Limits set low here so that the flood, slow-loris and cardinality cases reach them within seconds.</summary>
    public const int MaxMessagesPerSecond = 200;

    public const int MessageBurst = 200;

    public static readonly TimeSpan RateLimitDisconnectAfter = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    public const int MaxKeepAlive = 5;

    /// <summary>Failed logins from one address that lock it (the default).</summary>
    public const int MaxFailedLogins = 10;

    /// <summary>Per sensor, distinct metric names its kind does not list (the default).</summary>
    public const int MaxMetricsPerSensor = 64;

    /// <summary>New unregistered sensors per minute (the default).</summary>
    public const int MaxNewUnregisteredSensorsPerMinute = 100;

    public const string Database = "campus";

    const string Registry = """
        campus: { id: hostile }
        kinds:
          counter:
            interval: 1s
            metrics:
              seq: { unit: count }
          freezer:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
              fault: { unit: "code" }
            alerts:
              - { id: freezer-fault, type: fault-code, metric: fault, severity: critical }
        buildings:
          - id: hb
            rooms:
              - id: hr
                sensors:
                  - { id: good-1, kind: counter }
                  - { id: flood-0, kind: counter }
                  - { id: flood-1, kind: counter }
                  - { id: card-1, kind: counter }
                  - { id: alarm-1, kind: freezer }
                  - { id: fresh-1, kind: freezer }

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

        // The credential store, written with the store's own format functions (as telemetry-admin does). With a store,
        // anonymous devices would be refused by default; Broker:AllowAnonymous=true keeps them allowed, so that every
        // raw-socket case of the corpus keeps its meaning (an anonymous client on loopback, Broker:SensorAcl=Open) while
        // the identity cases test what a store identity may and may not do, and the good device logs in as itself.
        var storePath = Path.Combine(directory, "devices.passwd");
        CredentialEntry Entry(string identity, string? password, string[]? sensors = null, string[]? roles = null) =>
            new(identity, password is null ? PasswordHash.NoPassword : PasswordHash.Create(password), sensors ?? [], roles ?? []);
        await File.WriteAllLinesAsync(storePath,
            [
                .. new[]
                {
                    Entry(GoodSensor, GoodPassword),
                    Entry(User, Password),
                    Entry(OtherDevice, OtherPassword),
                    Entry(Dashboard, DashboardPassword, sensors: [AlarmSensor], roles: [CredentialEntry.AlertsRole]),
                    Entry(BulkUser, BulkPassword),
                    Entry(CertificateOnly, null, roles: [CredentialEntry.AlertsRole]),
                }.Select(CredentialFile.FormatLine),
            ], ct);
        influx = await InfluxDbServer.StartAsync(ct);
        await influx.CreateDatabaseAsync(Database, ct);
        service = await ServiceProcess.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={Database}",
                $"--Campus:RegistryPath={registryPath}", $"--Campus:StatePath={Path.Combine(directory, "state")}",
                $"--Broker:CredentialsFile={storePath}", "--Broker:AllowAnonymous=true",
                // Failed logins: per address only. The corpus' wrong-password cases repeat every round for the same
                // user names (hx-user, good-1), which a per-username lock would turn into login_throttled after ten;
                // each raw case connects from an address of its own (HostileRunner), and the bulk case from one address.
                // Short delays, so that ten failures take well under a second.
                "--Broker:LoginThrottle:PerUsername=false",
                $"--Broker:LoginThrottle:MaxFailures={MaxFailedLogins}",
                "--Broker:LoginThrottle:FirstDelay=00:00:00.010", "--Broker:LoginThrottle:MaxDelay=00:00:00.100",
                // The bulk login case opens 200 connections from one address at once; the connection rate is not
                // what this suite tests (Faults.ConnectionRateTests does).
                "--Broker:MaxNewConnectionsPerSecondPerAddress=1000", "--Broker:NewConnectionBurstPerAddress=2000",
                $"--Broker:ConnectTimeout={ConnectTimeout:c}", $"--Broker:MaxKeepAlive={MaxKeepAlive}",
                $"--Broker:MaxMessagesPerSecondPerConnection={MaxMessagesPerSecond}", $"--Broker:MessageBurstPerConnection={MessageBurst}",
                $"--Broker:RateLimitDisconnectAfter={RateLimitDisconnectAfter:c}",
                $"--Ingest:MaxMetricsPerSensor={MaxMetricsPerSensor}",
                $"--Ingest:MaxNewUnregisteredSensorsPerMinute={MaxNewUnregisteredSensorsPerMinute}",
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
