using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Observability;
using Telemetry.Storage.Influx;
using Telemetry.Storage.Spool;

namespace Telemetry.Benchmarks;

/// <summary>
/// What the service gives a spool and its drainer, built by hand: options, metrics (from a fresh service provider, so
/// a fresh "Telemetry" meter that no other phase records into), the HTTP client factory (the InfluxDB client's requests
/// are timed by <see cref="HttpTimings"/>), and warnings on stderr. <see cref="Spool"/> is the spool in
/// <see cref="SpoolOptions"/>.Path; <see cref="Reopen"/> replaces it by a new instance on the same folder, as after a
/// restart of the service.
/// </summary>
sealed class SpoolHost : IDisposable
{
    readonly ServiceProvider services;

    public SpoolHost(string path)
    {
        var collection = new ServiceCollection()
            .AddMetrics()
            .AddLogging(logging => logging
                .SetMinimumLevel(LogLevel.Warning)
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddSimpleConsole(format => format.SingleLine = true));
        collection.AddHttpClient(InfluxV1Target.HttpClientName).AddHttpMessageHandler(() => new TimingHandler(HttpTimings));
        services = collection.BuildServiceProvider();
        Metrics = new TelemetryMetrics(services.GetRequiredService<IMeterFactory>());
        Instruments = new SpoolInstruments(Metrics);
        SpoolOptions = new SpoolOptions { Path = path };

        Spool = NewSpool();
    }

    public SpoolOptions SpoolOptions { get; }

    public TelemetryMetrics Metrics { get; }

    public SpoolInstruments Instruments { get; }

    public HttpTimings HttpTimings { get; } = new();

    public WriteAheadSpool Spool { get; private set; }

    public IHttpClientFactory HttpClientFactory => services.GetRequiredService<IHttpClientFactory>();

    public ILogger<T> Logger<T>() => services.GetRequiredService<ILogger<T>>();

    /// <summary>Disposes <see cref="Spool"/> (stop it first) and makes a new, not yet started one on the same folder.</summary>
    public WriteAheadSpool Reopen()
    {
        Spool.Dispose();
        Spool = NewSpool();
        return Spool;
    }

    WriteAheadSpool NewSpool() => new(Options.Create(SpoolOptions), Metrics, Logger<WriteAheadSpool>(), TimeProvider.System);

    public void Dispose()
    {
        Spool.Dispose();
        Instruments.Dispose();
        Metrics.Dispose();
        services.Dispose();
    }

    /// <summary>Times each HTTP request from sending it until the response headers arrived: network and InfluxDB.</summary>
    sealed class TimingHandler(HttpTimings timings) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                timings.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        }
    }
}

/// <summary>Durations of HTTP requests to InfluxDB, in seconds.</summary>
sealed class HttpTimings
{
    readonly Lock gate = new();
    readonly List<double> seconds = [];

    public void Add(double value)
    {
        lock (gate)
        {
            seconds.Add(value);
        }
    }

    public void Reset()
    {
        lock (gate)
        {
            seconds.Clear();
        }
    }

    public Distribution Snapshot()
    {
        lock (gate)
        {
            return new Distribution(seconds);
        }
    }
}
