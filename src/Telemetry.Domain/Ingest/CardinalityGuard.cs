using Telemetry.Contracts;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Ingest;

/// <summary>
/// Bounds what devices can make the service create — InfluxDB series and field keys, sensor grains in memory — with
/// the cardinality limits of <see cref="IngestLimits"/>. The broker asks <see cref="TryAdmit"/> for every parsed
/// message <em>before</em> handing it to the sensor's grain, so a refused message is never made durable nor
/// acknowledged with success: nothing acknowledged is lost.
/// <para>
/// Why a node-level map here rather than in the sensor grain: the grain is the thing to be bounded (an invented
/// sensor id activates a grain), and the per-kind limit spans all sensors of a kind. The map is bounded: one entry
/// per registered sensor that sent a metric its kind does not list (the registry bounds those) plus at most
/// <see cref="IngestLimits.MaxUnregisteredSensors"/> unregistered ones, each holding at most
/// <see cref="IngestLimits.MaxMetricsPerSensor"/> references to names interned in its kind's set (at most
/// <see cref="IngestLimits.MaxMetricsPerKind"/> strings per kind), and per unregistered sensor at most
/// <see cref="IngestLimits.MaxLocationsPerSensorPerHour"/> building/room pairs. With the defaults that is at most a few MB.
/// </para>
/// <para>
/// Metrics a registered kind lists in the registry are always accepted and not counted: the registry already bounds
/// them. Everything else (unlisted metrics of registered sensors, all metrics of unregistered sensors) counts.
/// </para>
/// <para>
/// A message whose sensor and metric names are all known is admitted without a lock (the common case); anything new is
/// decided under one lock, so that the limits are exact and a message refused by one limit uses up nothing of another.
/// The new-sensor rate is a fixed one-minute window counted under that lock, by hand rather than with
/// System.Threading.RateLimiting: a permit must only be spent when every other limit admits the message too, and the
/// window must follow the injected <see cref="TimeProvider"/> (the library's replenishing limiters run on their own timer).
/// </para>
/// </summary>
public sealed class CardinalityGuard(TimeProvider time)
{
    static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    static readonly TimeSpan LocationWindow = TimeSpan.FromHours(1);

    readonly System.Collections.Concurrent.ConcurrentDictionary<string, string[]> sensors = new(StringComparer.Ordinal);
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, Places> locations = new(StringComparer.Ordinal);
    readonly Dictionary<string, HashSet<string>> registeredKinds = new(StringComparer.Ordinal);
    readonly HashSet<string> unregisteredKind = new(StringComparer.Ordinal);
    readonly Lock gate = new();
    long unregisteredAdmitted;
    long windowStart = long.MinValue;
    int windowCount;

    /// <summary>Unregistered sensors admitted since start (counted against <see cref="IngestLimits.MaxUnregisteredSensors"/>).</summary>
    public long UnregisteredSensorsAdmitted => Interlocked.Read(ref unregisteredAdmitted);

    /// <summary>Sensors the guard keeps metric names for.</summary>
    public int TrackedSensors => sensors.Count;

    /// <summary>
    /// Admits the message of <paramref name="sensorId"/> (registered as <paramref name="registered"/>, or null) with
    /// <paramref name="readings"/>, remembering its sensor and metric names, or refuses it with the limit it would break.
    /// The sensor's location is not looked at (see the overload taking a <see cref="SensorAddress"/>).
    /// </summary>
    public bool TryAdmit(string sensorId, RegisteredSensor? registered, IReadOnlyList<Reading> readings, IngestLimits limits, out Refusal refusal) =>
        TryAdmit(sensorId, location: null, registered, readings, limits, out refusal);

    /// <summary>
    /// As the other overload, and for an unregistered sensor also bounds the distinct (building, room) pairs of its
    /// topics (<see cref="IngestLimits.MaxLocationsPerSensorPerHour"/>): each pair is an InfluxDB series of its own.
    /// A registered sensor's location is the registry's (the broker refuses any other before asking here).
    /// </summary>
    public bool TryAdmit(SensorAddress address, RegisteredSensor? registered, IReadOnlyList<Reading> readings, IngestLimits limits, out Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(address);
        return TryAdmit(address.Sensor, registered is null ? LocationKey(address) : null, registered, readings, limits, out refusal);
    }

    // Building and room are topic levels, so they hold no '/': the joined text is unique for the pair.
    static string LocationKey(SensorAddress address) => $"{address.Building}/{address.Room}";

    bool TryAdmit(string sensorId, string? location, RegisteredSensor? registered, IReadOnlyList<Reading> readings, IngestLimits limits, out Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(sensorId);
        ArgumentNullException.ThrowIfNull(readings);
        ArgumentNullException.ThrowIfNull(limits);
        refusal = default;

        var open = OpenNames(registered, readings, limits.MaxMetricsPerSensor);
        if (open.Count == 0 && registered is not null)
        {
            return true;
        }

        var sameLocation = location is null || (locations.TryGetValue(sensorId, out var places) && places.Last == location);
        if (sameLocation && sensors.TryGetValue(sensorId, out var known) && open.TrueForAll(n => Array.IndexOf(known, n) >= 0))
        {
            return true;
        }

        lock (gate)
        {
            var isNew = !sensors.TryGetValue(sensorId, out known);
            known ??= [];
            var countsAsNew = isNew && registered is null;
            if (countsAsNew && !TryTakeNewSensor(sensorId, limits, out refusal))
            {
                return false;
            }

            if (location is not null && !TryPlace(sensorId, location, limits, out refusal))
            {
                return false;
            }

            var added = open.FindAll(n => Array.IndexOf(known, n) < 0);
            if (known.Length + added.Count > limits.MaxMetricsPerSensor)
            {
                refusal = new Refusal(RefusalReason.SensorMetricLimit,
                    $"sensor '{sensorId}' would have {(open.Count > limits.MaxMetricsPerSensor ? "at least " : "")}{known.Length + added.Count} metrics its kind does not list; at most {limits.MaxMetricsPerSensor} are accepted (Ingest:MaxMetricsPerSensor)");
                return false;
            }

            var kindNames = KindNames(registered);
            var newForKind = added.FindAll(n => !kindNames.Contains(n));
            if (kindNames.Count + newForKind.Count > limits.MaxMetricsPerKind)
            {
                refusal = new Refusal(RefusalReason.KindMetricLimit,
                    $"the {(registered is null ? "unregistered sensors" : $"sensors of kind '{registered.Kind.Id}'")} would have {kindNames.Count + newForKind.Count} metrics no kind lists; at most {limits.MaxMetricsPerKind} are accepted (Ingest:MaxMetricsPerKind)");
                return false;
            }

            // Every limit admits the message: only now is anything remembered or counted.
            var names = new string[known.Length + added.Count];
            known.CopyTo(names, 0);
            for (var i = 0; i < added.Count; i++)
            {
                kindNames.Add(added[i]);
                kindNames.TryGetValue(added[i], out var shared);
                names[known.Length + i] = shared!;
            }

            sensors[sensorId] = names;
            if (location is not null)
            {
                // Only now, so that a refused message leaves no entry behind (this map stays bounded by the sensors admitted).
                locations.GetOrAdd(sensorId, static _ => new Places()).Admit(location, time.GetTimestamp());
            }

            if (countsAsNew)
            {
                windowCount++;
                Interlocked.Increment(ref unregisteredAdmitted);
            }

            return true;
        }
    }

    /// <summary>
    /// Under the lock: whether <paramref name="location"/> is one of the sensor's pairs of this hour's window or one
    /// more fits (nothing is remembered yet: <see cref="Places.Admit"/> does that once every limit admits the message).
    /// </summary>
    bool TryPlace(string sensorId, string location, IngestLimits limits, out Refusal refusal)
    {
        refusal = default;
        if (!locations.TryGetValue(sensorId, out var places))
        {
            return true;
        }

        var now = time.GetTimestamp();
        if (places.WindowStart == long.MinValue || time.GetElapsedTime(places.WindowStart, now) >= LocationWindow)
        {
            places.WindowStart = now;
            places.Seen.Clear();
        }

        if (places.Seen.Contains(location) || places.Seen.Count < limits.MaxLocationsPerSensorPerHour)
        {
            return true;
        }

        refusal = new Refusal(RefusalReason.SensorLocationLimit,
            $"sensor '{sensorId}' published under {limits.MaxLocationsPerSensorPerHour} building/room pairs this hour already (Ingest:MaxLocationsPerSensorPerHour); register it or keep its topic");
        return false;
    }

    /// <summary>
    /// The building/room pairs an unregistered sensor used in the current one-hour window (at most
    /// <see cref="IngestLimits.MaxLocationsPerSensorPerHour"/>), changed under the guard's lock; <see cref="Last"/> is
    /// read without it for the common case of a sensor that stays where it is.
    /// </summary>
    sealed class Places
    {
        volatile string? last;

        public long WindowStart { get; set; } = long.MinValue;

        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

        public string? Last => last;

        public void Admit(string location, long now)
        {
            if (WindowStart == long.MinValue)
            {
                WindowStart = now;
            }

            Seen.Add(location);
            last = location;
        }
    }

    /// <summary>Under the lock: whether one more unregistered sensor fits the total and this minute's window (nothing is taken yet).</summary>
    bool TryTakeNewSensor(string sensorId, IngestLimits limits, out Refusal refusal)
    {
        refusal = default;
        if (unregisteredAdmitted >= limits.MaxUnregisteredSensors)
        {
            refusal = new Refusal(RefusalReason.UnregisteredSensorLimit,
                $"sensor '{sensorId}' is not in the campus registry and this node has admitted {limits.MaxUnregisteredSensors} unregistered sensors already (Ingest:MaxUnregisteredSensors); register it");
            return false;
        }

        var now = time.GetTimestamp();
        if (windowStart == long.MinValue || time.GetElapsedTime(windowStart, now) >= Window)
        {
            windowStart = now;
            windowCount = 0;
        }

        if (windowCount >= limits.MaxNewUnregisteredSensorsPerMinute)
        {
            refusal = new Refusal(RefusalReason.TooManyNewSensors,
                $"sensor '{sensorId}' is not in the campus registry and {limits.MaxNewUnregisteredSensorsPerMinute} new unregistered sensors appeared this minute already (Ingest:MaxNewUnregisteredSensorsPerMinute); try again later or register it");
            return false;
        }

        return true;
    }

    HashSet<string> KindNames(RegisteredSensor? registered)
    {
        if (registered is null)
        {
            return unregisteredKind;
        }

        if (!registeredKinds.TryGetValue(registered.Kind.Id, out var names))
        {
            registeredKinds[registered.Kind.Id] = names = new HashSet<string>(StringComparer.Ordinal);
        }

        return names;
    }

    /// <summary>
    /// The distinct metric names of the message that the sensor's kind does not list (all of them when unregistered),
    /// collected only up to one past <paramref name="perSensor"/>: more than that is refused anyway, and the cap keeps
    /// the cost linear in the message's size.
    /// </summary>
    static List<string> OpenNames(RegisteredSensor? registered, IReadOnlyList<Reading> readings, int perSensor)
    {
        var open = new List<string>(0);
        foreach (var reading in readings)
        {
            foreach (var metric in reading.Metrics)
            {
                if ((registered is null || !registered.Kind.Metrics.ContainsKey(metric.Name)) && !open.Contains(metric.Name))
                {
                    open.Add(metric.Name);
                    if (open.Count > perSensor)
                    {
                        return open;
                    }
                }
            }
        }

        return open;
    }
}
