using Telemetry.Domain.Configuration;

namespace Telemetry.Service.Registry;

/// <summary>The registry file at start is missing, unreadable or invalid; the message lists every error.</summary>
public sealed class CampusRegistryException : Exception
{
    public CampusRegistryException(string message, IReadOnlyList<YamlError> errors, Exception? inner = null)
        : base(message, inner)
    {
        Errors = errors;
    }

    public CampusRegistryException()
        : this("The campus registry could not be loaded", [])
    {
    }

    public CampusRegistryException(string message)
        : this(message, [])
    {
    }

    public CampusRegistryException(string message, Exception inner)
        : this(message, [], inner)
    {
    }

    public IReadOnlyList<YamlError> Errors { get; }
}
