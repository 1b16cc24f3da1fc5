using Telemetry.Grains.Feed;
using Telemetry.Storage;

namespace Telemetry.Service.Hosting;

/// <summary>The grain feed: the spool's durable readings handed to the sensor grains in batches ("Grains").</summary>
public static class GrainFeedHosting
{
    /// <summary>
    /// After the silo and before the broker: it starts once the grains can be called, and stops after the broker (no
    /// new readings) and before the silo and the spool, so its last checkpoint round can still reach both.
    /// </summary>
    public static WebApplicationBuilder AddTelemetryGrainFeed(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<GrainFeedOptions>().BindConfiguration(GrainFeedOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSpoolGrainFeed(); // the spool keeps what the grains have not consumed
        builder.Services.AddHostedService<GrainFeeder>();
        return builder;
    }
}
