using System.CommandLine;
using System.Security.Cryptography;
using Telemetry.Domain.Identity;

namespace Telemetry.Admin.Devices;

/// <summary>
/// <c>telemetry-admin devices add|rotate|revoke|import|list</c>: edits the broker's credential store. Passwords never
/// come from the command line (every local user can read it in <c>/proc/PID/cmdline</c>): they are read from a file
/// (<c>--password-file</c>), from standard input (<c>--password-stdin</c>), or generated and printed once.
/// </summary>
static class DevicesCommand
{
    const string StoreVariable = "TELEMETRY_CREDENTIALS_FILE";

    static readonly Option<FileInfo?> Store = new("--store")
    {
        Description = $"The credential store file (the service's Broker:CredentialsFile). [default: ${StoreVariable}]",
        Recursive = true,
    };

    static readonly Argument<string> Id = new("id") { Description = "The device identity: its username, or its certificate's identity." };
    static readonly Option<string?> Sensors = new("--sensors") { Description = "Sensors it may publish for, comma-separated, or * for any (a gateway). [default: only the sensor whose id is its identity]" };
    static readonly Option<string?> Roles = new("--roles") { Description = "Roles, comma-separated: alerts (may subscribe to the alert topics: a dashboard or BMS)." };
    static readonly Option<FileInfo?> PasswordFile = new("--password-file") { Description = "Read the password from the first line of this file." };
    static readonly Option<bool> PasswordStdin = new("--password-stdin") { Description = "Read the password from the first line of standard input." };
    static readonly Option<bool> NoPassword = new("--no-password") { Description = "No password: the identity logs in with a client certificate only; the entry gives it sensors and roles." };
    static readonly Option<int> Iterations = new("--iterations") { Description = $"PBKDF2-SHA512 iterations (at least {PasswordHash.MinimumIterations}).", DefaultValueFactory = _ => PasswordHash.DefaultIterations };
    static readonly Option<string?> RefusedPassword = new("--password") { Description = "Not accepted: a password on the command line is readable by every local user.", Hidden = true };
    static readonly Argument<FileInfo> Csv = new("csv") { Description = "CSV lines id[,sensors[,roles[,password]]]; sensors and roles separated by spaces; a header line 'id,…' and # comments are skipped." };
    static readonly Option<FileInfo?> PasswordsOut = new("--passwords-out") { Description = "Where to write generated passwords (id,password lines; created with mode 0600)." };

    public static Command Create(TextReader input)
    {
        var add = new Command("add", "Add a device. Prints a generated password once unless --password-file, --password-stdin or --no-password.")
        {
            Id, Sensors, Roles, PasswordFile, PasswordStdin, NoPassword, Iterations, RefusedPassword,
        };
        add.SetAction((parse, _) => Run(parse, store => Add(parse, store, input)));

        var rotate = new Command("rotate", "Give a device a new password (its live session is disconnected); prints a generated one once unless read from a file or stdin.")
        {
            Id, PasswordFile, PasswordStdin, Iterations, RefusedPassword,
        };
        rotate.SetAction((parse, _) => Run(parse, store => Rotate(parse, store, input)));

        var revoke = new Command("revoke", "Remove a device: its live session is disconnected within seconds and it cannot log in again.") { Id };
        revoke.SetAction((parse, _) => Run(parse, store => Revoke(parse, store)));

        var import = new Command("import", "Add many devices from a CSV file; passwords from the file or generated into --passwords-out.") { Csv, PasswordsOut, Iterations };
        import.SetAction((parse, _) => Run(parse, store => Import(parse, store)));

        var list = new Command("list", "List the identities, their sensors, roles and kind of hash (never the hashes).");
        list.SetAction((parse, _) => Run(parse, store => List(parse, store)));

        return new Command("devices", "Device identities in the broker's credential store.") { Store, add, rotate, revoke, import, list };
    }

    static async Task<int> Run(ParseResult parse, Func<StoreFile, int> action)
    {
        var error = parse.InvocationConfiguration.Error;
        if (parse.GetValue(RefusedPassword) is not null)
        {
            await error.WriteLineAsync("telemetry-admin: --password is not accepted: a password on the command line is readable by every local user " +
                                       "(/proc/PID/cmdline, shell history). Use --password-file FILE or --password-stdin, or let one be generated.");
            return AdminCli.Usage;
        }

        var path = parse.GetValue(Store)?.FullName ?? Environment.GetEnvironmentVariable(StoreVariable);
        if (string.IsNullOrWhiteSpace(path))
        {
            await error.WriteLineAsync($"telemetry-admin: name the credential store with --store FILE or ${StoreVariable}");
            return AdminCli.Usage;
        }

        try
        {
            return action(StoreFile.Load(path));
        }
        catch (Exception e) when (e is UsageException or CredentialFileException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            await error.WriteLineAsync($"telemetry-admin: {e.Message}");
            return e is UsageException ? AdminCli.Usage : AdminCli.Failed;
        }
    }

    static int Add(ParseResult parse, StoreFile store, TextReader input)
    {
        var id = CheckedId(parse.GetValue(Id)!);
        if (store.Find(id) is not null)
        {
            throw new UsageException($"'{id}' is already in {store.Path}; use rotate for a new password");
        }

        var sensors = List(parse.GetValue(Sensors), ',');
        foreach (var sensor in sensors.Where(s => s != CredentialEntry.AnySensor))
        {
            if (CredentialFile.ValidateListedSensor(sensor) is { } bad)
            {
                throw new UsageException(bad);
            }
        }

        var roles = List(parse.GetValue(Roles), ',');
        var (password, generated) = parse.GetValue(NoPassword) ? (null, false) : Password(parse, input);
        var hash = password is null ? PasswordHash.NoPassword : PasswordHash.Create(password, CheckedIterations(parse));
        var entry = new CredentialEntry(id, hash, sensors, roles);
        CredentialFile.ParseLine(CredentialFile.FormatLine(entry), 0);
        store.Put(entry);
        store.Save();
        Report(parse, $"added {id} to {store.Path}", generated ? password : null);
        return AdminCli.Success;
    }

    static int Rotate(ParseResult parse, StoreFile store, TextReader input)
    {
        var id = parse.GetValue(Id)!;
        var entry = store.Find(id) ?? throw new UsageException($"'{id}' is not in {store.Path}");
        var (password, generated) = Password(parse, input);
        store.Put(entry with { Hash = PasswordHash.Create(password, CheckedIterations(parse)) });
        store.Save();
        Report(parse, $"new password for {id} in {store.Path}; its live session is disconnected", generated ? password : null);
        return AdminCli.Success;
    }

    static int Revoke(ParseResult parse, StoreFile store)
    {
        var id = parse.GetValue(Id)!;
        if (!store.Remove(id))
        {
            throw new UsageException($"'{id}' is not in {store.Path}");
        }

        store.Save();
        Report(parse, $"revoked {id}: removed from {store.Path}; its live session is disconnected", null);
        return AdminCli.Success;
    }

    static int Import(ParseResult parse, StoreFile store)
    {
        var csv = parse.GetValue(Csv)!;
        var iterations = CheckedIterations(parse);
        var generatedPasswords = new List<string>();
        var added = new List<CredentialEntry>();
        var number = 0;
        foreach (var raw in File.ReadAllLines(csv.FullName))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || (number == 1 && line.StartsWith("id,", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var fields = line.Split(',', 4);
            var id = CheckedId(fields[0].Trim(), $"{csv.Name} line {number}: ");
            if (store.Find(id) is not null || added.Any(e => e.Identity == id))
            {
                throw new UsageException($"{csv.Name} line {number}: '{id}' is already in the store or listed twice; nothing was imported");
            }

            var password = fields.Length > 3 && fields[3].Length > 0 ? fields[3] : null;
            if (password is null)
            {
                password = Generate();
                generatedPasswords.Add($"{id},{password}");
            }

            var entry = new CredentialEntry(id, PasswordHash.Create(password, iterations),
                List(fields.ElementAtOrDefault(1), ' '), List(fields.ElementAtOrDefault(2), ' '));
            try
            {
                CredentialFile.ParseLine(CredentialFile.FormatLine(entry), number);
            }
            catch (CredentialFileException e)
            {
                throw new UsageException($"{csv.Name} line {number}: {e.Message}; nothing was imported");
            }

            added.Add(entry);
        }

        var passwordsOut = parse.GetValue(PasswordsOut);
        if (generatedPasswords.Count > 0 && passwordsOut is null)
        {
            throw new UsageException($"{generatedPasswords.Count} devices have no password in {csv.Name}: name --passwords-out FILE to receive generated ones; nothing was imported");
        }

        if (passwordsOut is not null && generatedPasswords.Count > 0)
        {
            // Written before the store: a device is never in the store with a password nobody has.
            StoreFile.WriteAtomically(passwordsOut.FullName, string.Join('\n', generatedPasswords) + "\n");
        }

        added.ForEach(store.Put);
        store.Save();
        Report(parse, $"imported {added.Count} devices into {store.Path}" +
                      (generatedPasswords.Count > 0 ? $"; {generatedPasswords.Count} generated passwords in {passwordsOut!.FullName} (mode 0600)" : ""), null);
        return AdminCli.Success;
    }

    static int List(ParseResult parse, StoreFile store)
    {
        var output = parse.InvocationConfiguration.Output;
        foreach (var entry in store.Entries)
        {
            var hash = !entry.Hash.AllowsPasswordLogin ? "certificate-only" : entry.Hash.IsWeak ? "password (weak hash: rotate)" : "password";
            output.WriteLine($"{entry.Identity}\tsensors={(entry.Sensors.Count == 0 ? "(own id)" : string.Join(',', entry.Sensors))}\troles={string.Join(',', entry.Roles)}\t{hash}");
        }

        return AdminCli.Success;
    }

    /// <summary>The password from --password-file or --password-stdin, or a generated one (second value true).</summary>
    static (string Password, bool Generated) Password(ParseResult parse, TextReader input)
    {
        var file = parse.GetValue(PasswordFile);
        var stdin = parse.GetValue(PasswordStdin);
        if (file is not null && stdin)
        {
            throw new UsageException("give either --password-file or --password-stdin");
        }

        var password = file is not null ? File.ReadLines(file.FullName).FirstOrDefault()
            : stdin ? input.ReadLine()
            : null;
        if (file is null && !stdin)
        {
            return (Generate(), true);
        }

        return string.IsNullOrEmpty(password)
            ? throw new UsageException("the password read is empty")
            : (password, false);
    }

    /// <summary>24 characters from 18 random bytes (144 bits), URL-safe base64: typed by no one, so long is fine.</summary>
    static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');

    static void Report(ParseResult parse, string what, string? generatedPassword)
    {
        parse.InvocationConfiguration.Error.WriteLine($"telemetry-admin: {what}");
        if (generatedPassword is not null)
        {
            // The password alone on stdout, once: scripts capture it; it is not stored anywhere in clear.
            parse.InvocationConfiguration.Output.WriteLine(generatedPassword);
        }
    }

    static string CheckedId(string id, string where = "") =>
        CredentialFile.ValidateIdentity(id) is { } bad ? throw new UsageException(where + bad) : id;

    static int CheckedIterations(ParseResult parse) =>
        parse.GetValue(Iterations) is var n and >= PasswordHash.MinimumIterations
            ? n
            : throw new UsageException($"--iterations must be at least {PasswordHash.MinimumIterations}");

    static List<string> List(string? text, char separator) =>
        text is null ? [] : [.. text.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}

/// <summary>A mistake in the command's input, reported with exit code 1.</summary>
sealed class UsageException(string message) : Exception(message);
