using System.CommandLine;
using Telemetry.Domain.Configuration;

namespace Telemetry.DeviceSim.Cli;

/// <summary>
/// An option taking a duration in the registry's grammar (<see cref="DurationText"/>: <c>500ms</c>, <c>5s</c>,
/// <c>2m</c>, <c>1m30s</c>); greater than zero, or with <paramref name="allowZero"/> zero or more.
/// </summary>
public static class DurationOption
{
    public static Option<TimeSpan?> Create(string name, string description, bool allowZero = false) => new(name)
    {
        Description = description,
        HelpName = "duration",
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
            if (DurationText.Check(text, allowZero ? DurationRule.NonNegative : DurationRule.Positive, out var duration) is { } problem)
            {
                result.AddError($"{name} {problem}.");
                return null;
            }

            return duration;
        },
    };
}
