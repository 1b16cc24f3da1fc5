using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Observability;
using Telemetry.Storage;
using Telemetry.Storage.Spool;

namespace Telemetry.UnitTests.Storage.Spool;

/// <summary>The storage registration: one spool behind the writer and the grain feed, the feed switched on in code, its lag option validated.</summary>
public class SpoolRegistrationTests
{
    static ServiceProvider Build(bool feed, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddMetrics()
            .AddSingleton<TelemetryMetrics>()
            .AddSingleton(TimeProvider.System)
            .AddTelemetryStorage();
        if (feed)
        {
            services.AddSpoolGrainFeed();
        }

        return services.BuildServiceProvider();
    }

    [Fact]
    public void The_grain_feed_is_the_same_spool_as_the_writer_and_is_on_only_when_the_host_turns_it_on()
    {
        using (var fed = Build(feed: true))
        {
            var spool = fed.GetRequiredService<WriteAheadSpool>();
            Assert.Same(spool, fed.GetRequiredService<IGrainFeed>());
            Assert.Same(spool, fed.GetRequiredService<ITelemetryWriter>());
            Assert.True(spool.FeedsGrains);
        }

        using var alone = Build(feed: false, ("Spool:GrainFeed", "true"), ("GrainFeed:Enabled", "true"));
        Assert.False(alone.GetRequiredService<WriteAheadSpool>().FeedsGrains);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:00:00.500")]
    [InlineData("-00:01:00")]
    public void A_feed_lag_threshold_under_one_second_is_refused_naming_the_key(string value)
    {
        using var provider = Build(feed: true, ("Spool:FeedDegradedAfter", value));
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SpoolOptions>>().Value);
        Assert.Contains("Spool:FeedDegradedAfter", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_feed_lag_threshold_of_a_second_or_more_is_taken()
    {
        using var provider = Build(feed: true, ("Spool:FeedDegradedAfter", "00:05:00"));
        Assert.Equal(TimeSpan.FromMinutes(5), provider.GetRequiredService<IOptions<SpoolOptions>>().Value.FeedDegradedAfter);
    }
}
