using Serilog;
using Telemetry.Service.Cluster;
using Telemetry.Service.Hosting;
using Telemetry.Service.Security;

// Campus Telemetry: devices → MQTT broker → sensor grains → write pipeline → InfluxDB.
// The composition (what runs, in which order) is in Hosting/TelemetryApp.cs.
// `Telemetry.Service api-key new <name> <role>` makes an HTTP API key instead of running the service.
if (ApiKeyCommand.Handles(args))
{
    return await ApiKeyCommand.RunAsync(args, Console.Out);
}

// `Telemetry.Service cluster-schema apply` creates Orleans' tables in the cluster's PostgreSQL (cluster mode only).
if (ClusterSchema.Handles(args))
{
    return await ClusterSchema.RunAsync(args, Console.Out);
}

Log.Logger = new LoggerConfiguration()
    .WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture)
    .CreateBootstrapLogger();

try
{
    var app = TelemetryApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is not HostAbortedException)
{
    Log.Fatal(ex, "Campus Telemetry stopped: {Error}", ex.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
