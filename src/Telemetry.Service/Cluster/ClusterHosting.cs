using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using Telemetry.Grains.Persistence;

namespace Telemetry.Service.Cluster;

/// <summary>
/// The Orleans silo, for one node or a cluster (<c>Orleans:Clustering</c>). The one place that decides where
/// membership, grain state and reminders live:
/// <list type="bullet">
/// <item><c>Localhost</c> (default): in-memory membership on loopback, grain state in files under
/// <c>Campus:StatePath</c> (<see cref="DurableFileGrainStorage"/>), reminders in memory. No database.</item>
/// <item><c>AdoNet</c>: membership, grain state (the same JSON as the files) and reminders in PostgreSQL, whose schema
/// <c>Telemetry.Service cluster-schema apply</c> creates (<see cref="ClusterSchema"/>).</item>
/// </list>
/// </summary>
public static class ClusterHosting
{
    /// <summary>The ADO.NET invariant of Npgsql, as Orleans' providers name it.</summary>
    public const string PostgreSqlInvariant = "Npgsql";

    /// <summary>Reads and checks the section (<see cref="SiloOptions.Problems"/>): a mistake stops the start naming its key.</summary>
    public static SiloOptions ReadSiloOptions(IConfiguration configuration)
    {
        var options = new SiloOptions();
        try
        {
            configuration.GetSection(SiloOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new OptionsValidationException(SiloOptions.SectionName, typeof(SiloOptions), [$"The Orleans section does not read: {ex.Message}"]);
        }

        var problems = options.Problems();
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(SiloOptions.SectionName, typeof(SiloOptions), problems);
        }

        return options;
    }

    public static WebApplicationBuilder AddTelemetrySilo(this WebApplicationBuilder builder)
    {
        var options = ReadSiloOptions(builder.Configuration);
        builder.Services.AddSingleton(Options.Create(options));
        var address = IPAddress.Parse(options.AdvertisedAddress);
        // AddOrleans on the services, not UseOrleans on the builder: the latter also reads the "Orleans" section by
        // Orleans' own conventions (Orleans:Clustering:ProviderType, …), which would take this section's keys for its own.
        builder.Services.AddOrleans(silo =>
        {
            silo.Configure<SiloMessagingOptions>(messaging => messaging.ResponseTimeout = TimeSpan.FromSeconds(30));
            if (options.Clustering == ClusteringMode.AdoNet)
            {
                var connectionString = options.ConnectionString!;
                silo.Configure<ClusterOptions>(cluster =>
                    {
                        cluster.ClusterId = options.ClusterId;
                        cluster.ServiceId = options.ServiceId;
                    })
                    .Configure<EndpointOptions>(endpoints =>
                    {
                        // Listens on the advertised address only: loopback unless the operator names the node's address.
                        endpoints.AdvertisedIPAddress = address;
                        endpoints.SiloPort = options.SiloPort;
                        endpoints.GatewayPort = options.GatewayPort;
                        endpoints.SiloListeningEndpoint = new IPEndPoint(address, options.SiloPort);
                        endpoints.GatewayListeningEndpoint = new IPEndPoint(address, options.GatewayPort);
                    })
                    .UseAdoNetClustering(o =>
                    {
                        o.Invariant = PostgreSqlInvariant;
                        o.ConnectionString = connectionString;
                    })
                    .UseAdoNetReminderService(o =>
                    {
                        o.Invariant = PostgreSqlInvariant;
                        o.ConnectionString = connectionString;
                    })
                    .AddAdoNetGrainStorage(GrainStorage.Name, o =>
                    {
                        o.Invariant = PostgreSqlInvariant;
                        o.ConnectionString = connectionString;
                        o.GrainStorageSerializer = new JsonStateSerializer();
                    });
            }
            else
            {
                // As before clustering was configurable: one silo on loopback, whatever AdvertisedAddress says.
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, null, options.ServiceId, options.ClusterId)
                    .UseInMemoryReminderService();
                silo.Services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, _) => new DurableFileGrainStorage(
                    sp.GetRequiredService<IOptions<Telemetry.Grains.CampusOptions>>().Value.StatePath,
                    sp.GetRequiredService<ILogger<DurableFileGrainStorage>>()));
            }
        });
        return builder;
    }

    /// <summary>Grain state in PostgreSQL as the same JSON the file storage writes (readable, and one format to migrate).</summary>
    sealed class JsonStateSerializer : IGrainStorageSerializer
    {
        public BinaryData Serialize<T>(T? input) => BinaryData.FromBytes(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(input, DurableFileGrainStorage.JsonOptions));

        public T Deserialize<T>(BinaryData input) =>
            System.Text.Json.JsonSerializer.Deserialize<T>(input.ToMemory().Span, DurableFileGrainStorage.JsonOptions)
            ?? throw new System.Text.Json.JsonException("the stored grain state is null");
    }
}
