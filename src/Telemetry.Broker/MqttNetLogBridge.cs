using Microsoft.Extensions.Logging;
using MQTTnet.Diagnostics.Logger;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

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
    readonly LogThrottle throttle = new(RepeatInterval, TimeProvider.System, maxKeys: 1000);

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

        if (!throttle.ShouldLog(source + "|" + message, out var suppressed))
        {
            return;
        }

        // MQTTnet's parameters carry client ids and topics as the client sent them: escaped and cut like every other
        // client-chosen name in the log.
        var text = parameters is { Length: > 0 }
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture, message, [.. parameters.Select(p => p is string s ? Text.ForLog(s) : p)])
            : message;
        if (suppressed > 0)
        {
            text += $" (repeated {suppressed} times since the last line)";
        }
#pragma warning disable CA2254 // MQTTnet's messages are its own format strings, already rendered here.
        logger.Log(mapped, exception, "{Source}: " + text.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal), source);
#pragma warning restore CA2254
    }
}
