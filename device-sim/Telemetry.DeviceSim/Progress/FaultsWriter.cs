using System.Text.Json;
using System.Text.Json.Serialization;

namespace Telemetry.DeviceSim.Progress;

/// <summary>
/// The injected faults as JSON, e.g.
/// <c>[{"sensor":"bldg-1-lab1-freezer1","building":"bldg-1","room":"lab1","fault":"freezer-failure","start":"2026-03-02T08:10:00.000Z","end":"…","startMs":…,"endMs":…,"completed":true}]</c>.
/// </summary>
public static class FaultsWriter
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static string ToJson(IReadOnlyList<InjectedFault> faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        return JsonSerializer.Serialize(faults.Select(f => new Entry(f.Sensor, f.Building, f.Room, f.Fault,
            f.Start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            f.End.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            f.Start.ToUnixTimeMilliseconds(), f.End.ToUnixTimeMilliseconds(), f.Completed, f.Rate)), Json);
    }

    sealed record Entry(string Sensor, string Building, string Room, string Fault, string Start, string End, long StartMs, long EndMs,
        bool Completed, double? Rate);
}
