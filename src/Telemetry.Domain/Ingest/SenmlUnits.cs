namespace Telemetry.Domain.Ingest;

/// <summary>
/// SenML unit names (IANA "SenML Units" registry: RFC 8428 §12.1 and RFC 8798 §2; "Secondary Units" registry:
/// RFC 8798 §3) and their conversion to the units the campus registry stores. See docs/contract.md, "SenML".
/// </summary>
public static class SenmlUnits
{
    /// <summary>Every unit name RFC 8428 and RFC 8798 register (primary and secondary). Case-sensitive.</summary>
    public static readonly IReadOnlySet<string> Registered = new HashSet<string>(StringComparer.Ordinal)
    {
        // RFC 8428 §12.1
        "m", "kg", "g", "s", "A", "K", "cd", "mol", "Hz", "rad", "sr", "N", "Pa", "J", "W", "C", "V", "F", "Ohm", "S",
        "Wb", "T", "H", "Cel", "lm", "lx", "Bq", "Gy", "Sv", "kat", "m2", "m3", "l", "m/s", "m/s2", "m3/s", "l/s", "W/m2",
        "cd/m2", "bit", "bit/s", "lat", "lon", "pH", "dB", "dBW", "Bspl", "count", "/", "%", "%RH", "%EL", "EL", "1/s",
        "1/min", "beat/min", "beats", "S/m",
        // RFC 8798 §2 (primary)
        "B", "VA", "VAs", "var", "vars", "J/m", "kg/m3", "deg",
        // RFC 8798 §3 (secondary: a scale and offset of a primary unit)
        "ms", "min", "h", "MHz", "kW", "kVA", "kvar", "Ah", "Wh", "kWh", "varh", "kvarh", "kVAh", "Wh/km", "KiB", "GB",
        "Mbit/s", "B/s", "MB/s", "mV", "mA", "dBm", "ug/m3", "mm/h", "m/h", "ppm", "/100", "/1000", "hPa", "mm", "cm",
        "km", "km/h",
    };

    // Dimensionless ratios as multiples of "/" (RFC 8428: "%" is a historical alias of "/", an absolute ratio 0..1,
    // NOT a percentage; RFC 8798: "/100" is percent, "/1000" permille, "ppm" parts per million).
    static readonly Dictionary<string, double> Ratios = new(StringComparer.Ordinal)
    {
        ["/"] = 1, ["%"] = 1, ["/100"] = 0.01, ["/1000"] = 0.001, ["ppm"] = 1e-6,
    };

    // Registry unit → SenML unit → (scale, offset): stored = value × scale + offset.
    static readonly Dictionary<string, Dictionary<string, (double Scale, double Offset)>> Conversions = new(StringComparer.Ordinal)
    {
        ["°C"] = new(StringComparer.Ordinal) { ["Cel"] = (1, 0), ["K"] = (1, -273.15) },
        ["%"] = WithRatios(0.01, new() { ["%RH"] = (1, 0), ["%EL"] = (1, 0) }),
        ["ppm"] = WithRatios(1e-6, []),
        ["state"] = WithRatios(1, []),
        ["kW"] = new(StringComparer.Ordinal) { ["W"] = (0.001, 0), ["kW"] = (1, 0) },
        ["W"] = new(StringComparer.Ordinal) { ["W"] = (1, 0), ["kW"] = (1000, 0) },
        ["kWh"] = new(StringComparer.Ordinal) { ["Wh"] = (0.001, 0), ["kWh"] = (1, 0), ["J"] = (1 / 3_600_000.0, 0) },
        ["Wh"] = new(StringComparer.Ordinal) { ["Wh"] = (1, 0), ["kWh"] = (1000, 0), ["J"] = (1 / 3600.0, 0) },
        ["m/s"] = new(StringComparer.Ordinal) { ["m/s"] = (1, 0), ["km/h"] = (1 / 3.6, 0), ["m/h"] = (1 / 3600.0, 0) },
        ["dBm"] = new(StringComparer.Ordinal) { ["dBm"] = (1, 0), ["dBW"] = (1, 30) },
        ["count"] = new(StringComparer.Ordinal) { ["count"] = (1, 0) },
    };

    /// <summary>
    /// Converts <paramref name="value"/> given in SenML unit <paramref name="senmlUnit"/> (null: none given) to
    /// <paramref name="registryUnit"/>. No SenML unit: the value is taken as already in the registry unit. A SenML unit
    /// that is not in the table but spelled exactly like the registry unit (e.g. "code") is taken as is, except "%",
    /// which SenML defines as a ratio.
    /// </summary>
    public static bool TryConvert(double value, string? senmlUnit, string registryUnit, out double converted, out string problem)
    {
        ArgumentNullException.ThrowIfNull(registryUnit);
        converted = value;
        problem = "";
        if (senmlUnit is null)
        {
            return true;
        }

        if (Conversions.TryGetValue(registryUnit, out var accepted))
        {
            if (accepted.TryGetValue(senmlUnit, out var c))
            {
                converted = (value * c.Scale) + c.Offset;
                return true;
            }
        }
        else if (string.Equals(senmlUnit, registryUnit, StringComparison.Ordinal))
        {
            return true;
        }

        var accepts = accepted is null ? $"'{registryUnit}'" : string.Join(", ", accepted.Keys.Select(k => $"'{k}'"));
        problem = Registered.Contains(senmlUnit)
            ? $"SenML unit '{senmlUnit}' cannot be converted to '{registryUnit}' (accepted: {accepts}, or no unit)"
            : $"unit '{Text.Visible(senmlUnit)}' is not a SenML unit this service converts to '{registryUnit}' (accepted: {accepts}, or no unit)";
        return false;
    }

    static Dictionary<string, (double, double)> WithRatios(double registryRatio, Dictionary<string, (double, double)> more)
    {
        var table = new Dictionary<string, (double, double)>(more, StringComparer.Ordinal);
        foreach (var (unit, ratio) in Ratios)
        {
            table[unit] = (ratio / registryRatio, 0);
        }

        return table;
    }
}
