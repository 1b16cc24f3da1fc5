using System.Globalization;
using System.Text.RegularExpressions;
using Telemetry.Domain.Configuration;

namespace Telemetry.DeviceSim.Scenarios;

/// <summary>
/// A scheduled fault: <paramref name="Sensor"/> gets <paramref name="Fault"/> from <paramref name="At"/> after the
/// simulated start, for <paramref name="Duration"/> (simulated time). <paramref name="Rate"/> is the fault's strength
/// where it has one (meter-drift: % per hour; malformed-payloads: share of messages;
/// meter-replacement: the new meter's starting register in kWh). <paramref name="Origin"/> says
/// where it was written (e.g. <c>scenario.yaml:14</c> or <c>--fault</c>) for error messages.
/// </summary>
public sealed partial record FaultSpec(string Sensor, FaultType Fault, TimeSpan At, TimeSpan Duration, double? Rate = null, string Origin = "")
{
    public const double DefaultDriftPercentPerHour = 10;
    public const double DefaultMalformedShare = 0.5;

    /// <summary>The strength in effect: <see cref="Rate"/> or the fault's default.</summary>
    public double EffectiveRate => Rate ?? Fault switch
    {
        FaultType.MeterDrift => DefaultDriftPercentPerHour,
        FaultType.MeterReplacement => 0,
        _ => DefaultMalformedShare,
    };

    /// <summary>Whether the fault has a strength (shown in the summary and in <c>--faults-out</c>).</summary>
    public bool HasRate => Fault is FaultType.MeterDrift or FaultType.MalformedPayloads or FaultType.MeterReplacement;

    /// <summary>
    /// Parses the command-line form <c>FAULT:SENSOR@AT+DURATION[,rate=R]</c>, e.g.
    /// <c>freezer-failure:bldg-1-lab1-freezer1@10m+1h</c> or <c>meter-drift:bldg-1-plant-energy@1h+2h,rate=5</c>.
    /// </summary>
    public static bool TryParse(string? text, out FaultSpec? fault, out string error)
    {
        fault = null;
        var match = CommandLineForm().Match(text ?? "");
        if (!match.Success)
        {
            error = $"'{text}' is not FAULT:SENSOR@AT+DURATION[,rate=R], e.g. freezer-failure:bldg-1-lab1-freezer1@10m+1h";
            return false;
        }

        if (!FaultTypes.TryParse(match.Groups["fault"].Value, out var type))
        {
            error = $"unknown fault '{match.Groups["fault"].Value}' (one of {string.Join(", ", FaultTypes.Names)})";
            return false;
        }

        if (DurationText.Check(match.Groups["at"].Value, DurationRule.NonNegative, out var at) is { } atProblem)
        {
            error = $"AT {atProblem}";
            return false;
        }

        if (DurationText.Check(match.Groups["duration"].Value, DurationRule.Positive, out var duration) is { } durationProblem)
        {
            error = $"DURATION {durationProblem}";
            return false;
        }

        double? rate = null;
        if (match.Groups["rate"].Success)
        {
            if (!double.TryParse(match.Groups["rate"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) || !ValidRate(type, r))
            {
                error = $"rate '{match.Groups["rate"].Value}' is not valid for {type.Name()} ({RateRule(type)})";
                return false;
            }

            rate = r;
        }

        fault = new FaultSpec(match.Groups["sensor"].Value, type, at, duration, rate, "--fault");
        error = "";
        return true;
    }

    /// <summary>Whether <paramref name="rate"/> is a valid strength for <paramref name="fault"/>.</summary>
    public static bool ValidRate(FaultType fault, double rate) => fault switch
    {
        FaultType.MeterDrift => double.IsFinite(rate) && rate > 0 && rate <= 1000,
        FaultType.MalformedPayloads => rate is > 0 and <= 1,
        FaultType.MeterReplacement => double.IsFinite(rate) && rate is >= 0 and <= 1e9,
        _ => false,
    };

    public static string RateRule(FaultType fault) => fault switch
    {
        FaultType.MeterDrift => "% per hour, above 0 up to 1000",
        FaultType.MalformedPayloads => "a share of messages, above 0 up to 1",
        FaultType.MeterReplacement => "the new meter's starting register in kWh, 0 up to 1e9",
        _ => "this fault takes no rate",
    };

    [GeneratedRegex(@"^(?<fault>[a-z-]+):(?<sensor>[^@\s]+)@(?<at>[0-9.a-z]+)\+(?<duration>[0-9.a-z]+)(,rate=(?<rate>[^,\s]+))?$")]
    private static partial Regex CommandLineForm();
}
