using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Domain.Campus;

namespace Telemetry.Service.Registry;

public static class CampusRegistryServiceCollectionExtensions
{
    /// <summary>Path of the registry file; empty means no registry (every sensor unregistered, accepted).</summary>
    public const string RegistryPathKey = "Campus:RegistryPath";

    /// <summary>How often the file's content is compared as a fallback to file-system events (TimeSpan, default 2 s).</summary>
    public const string PollIntervalKey = "Campus:RegistryPollInterval";

    /// <summary>
    /// Registers <see cref="ICampusRegistrySource"/> as a singleton: a <see cref="CampusRegistryFile"/> (also registered
    /// as itself, for its reload counters) when <c>Campus:RegistryPath</c> is set, relative paths resolved against the
    /// content root; <see cref="CampusRegistry.Empty"/> otherwise. A hosted service loads it at start, so a missing or
    /// invalid file stops the start with every error listed.
    /// </summary>
    public static IServiceCollection AddCampusRegistry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var path = configuration[RegistryPathKey];
        if (string.IsNullOrWhiteSpace(path))
        {
            services.AddSingleton<ICampusRegistrySource>(new FixedCampusRegistrySource(CampusRegistry.Empty));
            return services;
        }
        var poll = configuration.GetValue<TimeSpan?>(PollIntervalKey) ?? CampusRegistryFile.DefaultPollInterval;
        if (poll <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{PollIntervalKey} must be greater than zero, not {poll}");
        }
        services.AddSingleton(sp =>
        {
            var root = sp.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();
            var logger = sp.GetService<ILoggerFactory>()?.CreateLogger<CampusRegistryFile>() ?? (ILogger)NullLogger.Instance;
            return new CampusRegistryFile(Path.GetFullPath(path, root), logger, poll);
        });
        services.AddSingleton<ICampusRegistrySource>(sp => sp.GetRequiredService<CampusRegistryFile>());
        services.AddHostedService<CampusRegistryStartup>();
        return services;
    }

    /// <summary>Resolves the registry when the host starts instead of on first use.</summary>
    sealed class CampusRegistryStartup(ICampusRegistrySource source) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(source.Current);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
