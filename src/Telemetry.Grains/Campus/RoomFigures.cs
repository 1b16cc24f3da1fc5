using System.Globalization;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;

namespace Telemetry.Grains.Campus;

/// <summary>
/// How a room's figures follow from its sensors' reports — pure, so it is tested on its own.
/// People and power add up over online sensors; temperature and humidity average over them; CO2 takes the worst
/// sensor; energy adds up the last register of every meter, online or not (a meter that drops off the network
/// has not un-used its energy). A sensor that has not reported counts as offline.
/// </summary>
public static class RoomFigures
{
    public static RoomState Compute(string building, string roomId, Room? room, ComfortBands comfort,
        IReadOnlyDictionary<string, SensorReport> reports)
    {
        ArgumentNullException.ThrowIfNull(comfort);
        ArgumentNullException.ThrowIfNull(reports);

        // The registry's roster when the room is registered; otherwise whatever reported.
        var roster = room?.Sensors.Select(s => s.Id).ToList() ?? [.. reports.Keys];
        var known = roster.Select(id => reports.GetValueOrDefault(id)).OfType<SensorReport>().ToList();
        var online = known.Where(r => r.Online).ToList();

        var people = SumOrNull(online.Select(r => r.People));
        var capacity = room?.Capacity ?? 0;
        double? utilisation = people is { } p && capacity > 0 ? Math.Round(100.0 * p / capacity, 1) : null;
        var temperature = MeanOrNull(online.Select(r => r.TemperatureC));
        var humidity = MeanOrNull(online.Select(r => r.HumidityPercent));
        var co2 = MaxOrNull(online.Select(r => r.Co2Ppm));
        var power = SumOrNull(online.Select(r => r.PowerKw));
        var energy = SumOrNull(known.Select(r => r.EnergyKwh));

        var issues = new List<string>();
        if (temperature is { } t && t < comfort.TemperatureMinC)
        {
            issues.Add(Invariant($"temperature {t:0.0} °C below {comfort.TemperatureMinC:0.#} °C"));
        }

        if (temperature is { } t2 && t2 > comfort.TemperatureMaxC)
        {
            issues.Add(Invariant($"temperature {t2:0.0} °C above {comfort.TemperatureMaxC:0.#} °C"));
        }

        if (co2 is { } c && c > comfort.Co2MaxPpm)
        {
            issues.Add(Invariant($"CO2 {c:0} ppm above {comfort.Co2MaxPpm:0} ppm"));
        }

        if (humidity is { } h && h < comfort.HumidityMinPercent)
        {
            issues.Add(Invariant($"humidity {h:0} % below {comfort.HumidityMinPercent:0} %"));
        }

        if (humidity is { } h2 && h2 > comfort.HumidityMaxPercent)
        {
            issues.Add(Invariant($"humidity {h2:0} % above {comfort.HumidityMaxPercent:0} %"));
        }

        bool? comfortOk = temperature is null && co2 is null && humidity is null ? null : issues.Count == 0;
        return new RoomState(building, roomId, room?.Name ?? roomId, room?.Type ?? "", capacity, people, utilisation,
            Round(temperature, 2), Round(humidity, 1), Round(co2, 0), comfortOk, issues, Round(power, 3), Round(energy, 3),
            online.Count, roster.Count, [.. roster.Select(id => reports.GetValueOrDefault(id) ?? new SensorReport(id, false, 0))]);
    }

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    static double? SumOrNull(IEnumerable<double?> values)
    {
        double? sum = null;
        foreach (var v in values)
        {
            if (v is { } x)
            {
                sum = (sum ?? 0) + x;
            }
        }

        return sum;
    }

    static double? MeanOrNull(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count == 0 ? null : present.Average();
    }

    static double? MaxOrNull(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count == 0 ? null : present.Max();
    }

    static double? Round(double? value, int digits) => value is { } v ? Math.Round(v, digits) : null;
}
