using Microsoft.Extensions.Logging;
using MQTTnet.Diagnostics.Logger;

namespace Telemetry.Broker;

/// <summary>MQTTnet's own log (warnings and errors only) into the service's log, under the category "MQTTnet".</summary>
public sealed class MqttNetLogBridge(ILoggerFactory loggerFactory) : IMqttNetLogger
{
    readonly ILogger logger = loggerFactory.CreateLogger("MQTTnet");

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

        var text = parameters is { Length: > 0 } ? string.Format(System.Globalization.CultureInfo.InvariantCulture, message, parameters) : message;
#pragma warning disable CA2254 // MQTTnet's messages are its own format strings, already rendered here.
        logger.Log(mapped, exception, "{Source}: " + text.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal), source);
#pragma warning restore CA2254
    }
}
