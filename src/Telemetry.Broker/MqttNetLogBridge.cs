using Microsoft.Extensions.Logging;
using MQTTnet.Diagnostics.Logger;

namespace Telemetry.Broker;

/// <summary>
/// MQTTnet's own log (warnings and errors only) into the service's log, under the category "MQTTnet". The same
/// message is written at most once every 10 s with the number of repeats in between: MQTTnet's accept loop, for
/// one, retries at once and logs every failure (seen: a full file table filled memory with log lines until the
/// process died).
/// </summary>
public sealed class MqttNetLogBridge(ILoggerFactory loggerFactory) : IMqttNetLogger
{
    static readonly TimeSpan RepeatInterval = TimeSpan.FromSeconds(10);

    readonly ILogger logger = loggerFactory.CreateLogger("MQTTnet");
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, Repeats> recent = new(StringComparer.Ordinal);

    sealed class Repeats
    {
        public long LastTicks;
        public long Suppressed;
    }

    public bool IsEnabled => logger.IsEnabled(LogLevel.Warning);

    public void Publish(MqttNetLogLevel level, string source, string message, object[] parameters, Exception exception)
    {
        var mapped = level switch
        {
            MqttNetLogLevel.Error => LogLevel.Error,
            MqttNetLogLevel.Warning => LogLevel.Warning,
            _ => LogLevel.None,
        };
        if (mapped == LogLevel.None || !logger.IsEnabled(mapped))
        {
            return;
        }

        var key = source + "|" + message;
        if (recent.Count > 1000)
        {
            recent.Clear();
        }

        var repeats = recent.GetOrAdd(key, static _ => new Repeats());
        long suppressed;
        lock (repeats)
        {
            var now = Environment.TickCount64;
            if (repeats.LastTicks != 0 && now - repeats.LastTicks < (long)RepeatInterval.TotalMilliseconds)
            {
                repeats.Suppressed++;
                return;
            }

            suppressed = repeats.Suppressed;
            repeats.Suppressed = 0;
            repeats.LastTicks = now;
        }

        var text = parameters is { Length: > 0 } ? string.Format(System.Globalization.CultureInfo.InvariantCulture, message, parameters) : message;
        if (suppressed > 0)
        {
            text += $" (repeated {suppressed} times since the last line)";
        }
#pragma warning disable CA2254 // MQTTnet's messages are its own format strings, already rendered here.
        logger.Log(mapped, exception, "{Source}: " + text.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal), source);
#pragma warning restore CA2254
    }
}
