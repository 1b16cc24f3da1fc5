using Telemetry.Domain.Identity;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>Credential store files for tests: the store's own format, hashed with the fewest iterations allowed.</summary>
static class TestCredentials
{
    public static string Line(string identity, string password, string[]? sensors = null, string[]? roles = null) =>
        CredentialFile.FormatLine(new CredentialEntry(identity, PasswordHash.Create(password, PasswordHash.MinimumIterations), sensors ?? [], roles ?? []));

    /// <summary>A fresh store file holding <paramref name="lines"/>; returns its path.</summary>
    public static string WriteStore(params string[] lines)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("telemetry-it-credentials-").FullName, "devices.passwd");
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }
}
