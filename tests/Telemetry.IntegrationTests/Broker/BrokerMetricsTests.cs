using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Broker;
using Telemetry.Domain.Observability;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>Counts the broker keeps for its own use are the ones its metrics export: one source each.</summary>
public sealed class BrokerMetricsTests
{
    [Fact]
    public void The_open_connections_metric_is_the_count_the_connection_limit_uses()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var metrics = new TelemetryMetrics(factory);
        var open = new OpenConnections(Options.Create(new BrokerOptions { MaxConnections = 10 }), metrics);

        Assert.True(open.TryOpen());
        Assert.True(open.TryOpen());
        Assert.True(open.TryOpen());
        open.Closed();

        Assert.Equal(2, open.Count);
        Assert.Equal([2L], Observe(factory, "telemetry.mqtt.connections"));
    }

    [Fact]
    public void The_connection_limit_is_never_exceeded_and_a_closed_connection_frees_its_place()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new TelemetryMetrics(services.GetRequiredService<IMeterFactory>());
        var open = new OpenConnections(Options.Create(new BrokerOptions { MaxConnections = 2 }), metrics);

        Assert.True(open.TryOpen());
        Assert.True(open.TryOpen());
        Assert.False(open.TryOpen());
        Assert.Equal(2, open.Count);
        open.Closed();
        Assert.True(open.TryOpen());
        Assert.Equal(2, open.Count);
    }

    /// <summary>The values an observable instrument of this factory's meters reports when collected now.</summary>
    static List<long> Observe(IMeterFactory factory, string instrumentName)
    {
        var values = new List<long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && string.Equals(instrument.Name, instrumentName, StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => values.Add(value));
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
