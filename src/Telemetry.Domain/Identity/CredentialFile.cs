using System.Text;

namespace Telemetry.Domain.Identity;

/// <summary>
/// One identity of the credential store: its password hash, the sensors it may publish for and its roles.
/// <see cref="Sensors"/> empty means the default: only the sensor whose id is the identity; <c>*</c> means any sensor
/// (a gateway).
/// </summary>
public sealed record CredentialEntry(string Identity, PasswordHash Hash, IReadOnlyList<string> Sensors, IReadOnlyList<string> Roles)
{
    public const string AnySensor = "*";

    /// <summary>The role that lets an identity subscribe to the service's alert topics (a dashboard, a BMS).</summary>
    public const string AlertsRole = "alerts";

    public bool MayPublishFor(string sensor) =>
        Sensors.Count == 0
            ? string.Equals(sensor, Identity, StringComparison.Ordinal)
            : Sensors.Contains(AnySensor, StringComparer.Ordinal) || Sensors.Contains(sensor, StringComparer.Ordinal);

    public bool HasRole(string role) => Roles.Contains(role, StringComparer.Ordinal);
}

/// <summary>A line of the credential file that cannot be read.</summary>
public sealed class CredentialFileException(int line, string message)
    : FormatException($"line {line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>
/// The credential store's text format, one identity a line (mosquitto_passwd's format, extended):
/// <code>
/// # comments and blank lines are ignored
/// freezer-1:$pbkdf2-sha512$i=210000$SALT$HASH
/// gateway-7:$pbkdf2-sha512$i=210000$SALT$HASH:sensors=meter-1,meter-2
/// lora-gw:$7$101$SALT$HASH:sensors=*
/// bms:$pbkdf2-sha512$i=210000$SALT$HASH:roles=alerts;sensors=
/// cert-device-9:!:sensors=cert-device-9,cert-device-9b
/// </code>
/// Fields: the identity (no <c>:</c>, no white space or control characters, at most 128 characters), the password
/// hash (<see cref="PasswordHash"/>), and optional attributes <c>key=v1,v2</c> separated by <c>;</c>: <c>sensors</c>
/// (sensor ids it may publish for, or <c>*</c>; default: its own id) and <c>roles</c> (<c>alerts</c>). Sensor ids
/// listed here cannot hold <c>,</c>, <c>;</c> or white space. A file of plain mosquitto_passwd lines is valid as it is.
/// </summary>
public static class CredentialFile
{
    public const int MaxIdentityLength = 128;

    static readonly string[] KnownRoles = [CredentialEntry.AlertsRole];

    /// <summary>Reads a whole file; the first bad line throws <see cref="CredentialFileException"/> with its number.</summary>
    public static IReadOnlyDictionary<string, CredentialEntry> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new Dictionary<string, CredentialEntry>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            var entry = ParseLine(line, number);
            if (!entries.TryAdd(entry.Identity, entry))
            {
                throw new CredentialFileException(number, $"identity '{entry.Identity}' is listed twice");
            }
        }

        return entries;
    }

    public static CredentialEntry ParseLine(string line, int number)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = line.Split(':', 3);
        if (fields.Length < 2)
        {
            throw new CredentialFileException(number, "expected identity:hash[:attributes]");
        }

        if (ValidateIdentity(fields[0]) is { } bad)
        {
            throw new CredentialFileException(number, bad);
        }

        if (!PasswordHash.TryParse(fields[1], out var hash, out var error))
        {
            throw new CredentialFileException(number, $"identity '{fields[0]}': {error}");
        }

        List<string> sensors = [];
        List<string> roles = [];
        if (fields.Length == 3)
        {
            foreach (var attribute in fields[2].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var (key, values) = attribute.IndexOf('=', StringComparison.Ordinal) is var eq and > 0
                    ? (attribute[..eq], attribute[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    : throw new CredentialFileException(number, $"attribute '{attribute}' is not key=value");
                switch (key)
                {
                    case "sensors":
                        sensors.AddRange(values);
                        break;
                    case "roles":
                        foreach (var role in values)
                        {
                            roles.Add(KnownRoles.Contains(role, StringComparer.Ordinal)
                                ? role
                                : throw new CredentialFileException(number, $"unknown role '{role}' (known: {string.Join(", ", KnownRoles)})"));
                        }

                        break;
                    default:
                        throw new CredentialFileException(number, $"unknown attribute '{key}' (known: sensors, roles)");
                }
            }
        }

        return new CredentialEntry(fields[0], hash!, sensors, roles);
    }

    /// <summary>Why <paramref name="identity"/> cannot be an identity of the store, or null when it can.</summary>
    public static string? ValidateIdentity(string identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.Length is 0 or > MaxIdentityLength)
        {
            return $"an identity has 1 to {MaxIdentityLength} characters";
        }

        return identity.Any(c => c == ':' || char.IsWhiteSpace(c) || char.IsControl(c)) || identity.StartsWith('#')
            ? $"identity '{identity.ReplaceLineEndings(" ")}' holds ':', white space or a control character, or starts with '#'"
            : null;
    }

    /// <summary>One line for <paramref name="entry"/>, as <see cref="ParseLine"/> reads it.</summary>
    public static string FormatLine(CredentialEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var line = new StringBuilder().Append(entry.Identity).Append(':').Append(entry.Hash.Text);
        var attributes = new List<string>();
        if (entry.Sensors.Count > 0)
        {
            attributes.Add("sensors=" + string.Join(',', entry.Sensors));
        }

        if (entry.Roles.Count > 0)
        {
            attributes.Add("roles=" + string.Join(',', entry.Roles));
        }

        if (attributes.Count > 0)
        {
            line.Append(':').Append(string.Join(';', attributes));
        }

        return line.ToString();
    }

    /// <summary>Why <paramref name="sensor"/> cannot be listed in a <c>sensors=</c> attribute, or null.</summary>
    public static string? ValidateListedSensor(string sensor)
    {
        ArgumentNullException.ThrowIfNull(sensor);
        return sensor.Length == 0 || sensor.Any(c => c is ',' or ';' || char.IsWhiteSpace(c) || char.IsControl(c))
            ? $"sensor '{sensor.ReplaceLineEndings(" ")}' cannot be listed: empty, or holds ',', ';', white space or a control character"
            : null;
    }
}
