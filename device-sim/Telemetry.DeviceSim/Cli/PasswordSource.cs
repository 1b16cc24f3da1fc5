using System.CommandLine;

namespace Telemetry.DeviceSim.Cli;

/// <summary>
/// Where the broker password comes from: <c>--password-file</c> (its first line) or the environment variable
/// <c>DEVICE_SIM_PASSWORD</c>. Never from the command line, which every local user can read in
/// <c>/proc/PID/cmdline</c>: <c>--password</c> is refused with that reason.
/// </summary>
static class PasswordSource
{
    public const string Variable = "DEVICE_SIM_PASSWORD";

    public static Option<FileInfo?> FileOption() => new("--password-file")
    {
        Description = $"Read the broker password from the first line of this file (or set {Variable}).",
    };

    /// <summary>Hidden; present only to refuse it with the reason instead of "unrecognized option".</summary>
    public static Option<string?> RefusedOption() => new("--password") { Hidden = true };

    /// <summary>The password, or null without one; a usage mistake throws <see cref="ArgumentException"/> with the reason.</summary>
    public static string? Read(ParseResult parse, Option<FileInfo?> file, Option<string?> refused)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.GetValue(refused) is not null)
        {
            throw new ArgumentException(
                $"--password is not accepted: a password on the command line is readable by every local user (/proc/PID/cmdline). Use --password-file FILE or set {Variable}.");
        }

        if (parse.GetValue(file) is { } path)
        {
            var password = File.Exists(path.FullName) ? File.ReadLines(path.FullName).FirstOrDefault() : null;
            return string.IsNullOrEmpty(password)
                ? throw new ArgumentException($"--password-file {path.FullName}: missing or its first line is empty")
                : password;
        }

        return Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
    }
}
