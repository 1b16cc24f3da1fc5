using Microsoft.Extensions.Logging;

namespace Telemetry.Grains;

/// <summary>
/// The reminder that brings a singleton grain (campus, reports) back on a surviving node after its node died:
/// registered once per activation, every minute or Orleans' minimum reminder period if that is longer. A failed
/// registration is logged and tried again at the grain's next call of <see cref="EnsureAsync"/>.
/// </summary>
public sealed class KeepAliveReminder(string name)
{
    bool registered;

    public string Name { get; } = name;

    public async Task EnsureAsync(Grain grain, ReminderOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(grain);
        ArgumentNullException.ThrowIfNull(options);
        if (registered)
        {
            return;
        }

        try
        {
            var period = options.MinimumReminderPeriod > TimeSpan.FromMinutes(1) ? options.MinimumReminderPeriod : TimeSpan.FromMinutes(1);
            await grain.RegisterOrUpdateReminder(Name, period, period);
            registered = true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Could not register the reminder {Reminder} ({Error}); tried again at the next tick. Until then its grain does not come back by itself if its node dies",
                Name, ex.Message);
        }
    }
}
