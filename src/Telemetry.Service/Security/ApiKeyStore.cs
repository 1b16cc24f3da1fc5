using Microsoft.Extensions.Options;

namespace Telemetry.Service.Security;

/// <summary>
/// The API keys in force. Built from <c>Api:Keys</c> at start (validated before: the start fails on a bad entry) and
/// rebuilt when the configuration changes (a JSON configuration file edited while the service runs); a changed list
/// with any problem is logged, problem by problem, and ignored: the keys in force stay.
/// </summary>
public sealed class ApiKeyStore : IDisposable
{
    readonly ILogger<ApiKeyStore> logger;
    readonly IDisposable? subscription;
    volatile ApiKeySet current;

    public ApiKeyStore(IOptionsMonitor<ApiOptions> options, ILogger<ApiKeyStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.logger = logger;
        current = ApiKeySet.From(options.CurrentValue);
        subscription = options.OnChange(Reload);
    }

    public ApiKeySet Current => current;

    void Reload(ApiOptions options)
    {
        var problems = ApiSettings.Problems(options);
        if (problems.Count > 0)
        {
            logger.LogError("The API keys changed but {Count} entries are wrong; the {InForce} keys in force stay: {Problems}",
                problems.Count, current.Count, string.Join("; ", problems));
            return;
        }

        var keys = ApiKeySet.From(options);
        if (keys.Count != current.Count || !keys.SameAs(current))
        {
            current = keys;
            logger.LogInformation("API keys reloaded: {Count} keys in force", keys.Count);
        }
    }

    public void Dispose() => subscription?.Dispose();
}
