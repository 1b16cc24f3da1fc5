using System.CommandLine;

namespace Telemetry.DeviceSim.Cli;

/// <summary>An option taking a duration like <c>500ms</c>, <c>5s</c>, <c>2m</c> or <c>1m30s</c> (<c>0</c> too with <paramref name="allowZero"/>).</summary>
static class DurationOption
{
    public static Option<TimeSpan?> Create(string name, string description, bool allowZero = false) => new(name)
    {
        Description = description,
        HelpName = "duration",
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
            if (allowZero && text == "0")
            {
                return TimeSpan.Zero;
            }

            if (DurationText.TryParse(text, out var duration) && (duration > TimeSpan.Zero || allowZero))
            {
                return duration;
            }

            result.AddError($"{name}: '{text}' is not a duration like 500ms, 5s, 2m or 1m30s.");
            return null;
        },
    };
}
