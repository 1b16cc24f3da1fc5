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

        open.Opened();
        open.Opened();
        open.Opened();
        open.Closed();

        Assert.Equal(2, open.Count);
        Assert.Equal([2L], Observe(factory, "telemetry.mqtt.connections"));
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
