using System.Collections;

namespace Telemetry.Broker;

/// <summary>
/// Marks messages the service itself publishes (alerts): their session items hold <see cref="Marker"/>, an object no
/// device connection can put there, so the ingest interceptor lets exactly these through to subscribers.
/// </summary>
static class ServiceMessages
{
    public const string SenderClientId = "campus-telemetry-service";

    public static readonly object Marker = new();

    public static IDictionary SessionItems { get; } = Hashtable.Synchronized(new Hashtable { [Marker] = true });
}
