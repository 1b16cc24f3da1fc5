using System.CommandLine;

namespace Telemetry.Service.Security;

/// <summary>
/// <c>Telemetry.Service api-key new &lt;name&gt; &lt;role&gt;</c>: makes an API key, prints it once, and prints the
/// configuration entry that holds only its hash. Runs without starting the service.
/// </summary>
public static class ApiKeyCommand
{
    public const string Verb = "api-key";

    /// <summary>True when the command line asks for this command rather than the service.</summary>
    public static bool Handles(string[] args) => args is [Verb, ..];

    public static Task<int> RunAsync(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var name = new Argument<string>("name") { Description = "Who uses the key (a person, a dashboard, a system); recorded as who acknowledged or cleared an alert." };
        var role = new Argument<string>("role") { Description = "viewer (read), technician (acknowledge, clear alerts) or admin (registry reload, administration)." };
        role.AcceptOnlyFromAmong([.. ApiRoles.All]);
        var create = new Command("new", "Make a new random API key; the key is printed once, the configuration gets only its hash.") { name, role };
        create.SetAction(parse =>
        {
            NewApiKey key;
            try
            {
                key = ApiKeys.Create(parse.GetValue(name)!, parse.GetValue(role)!);
            }
            catch (ArgumentException ex)
            {
                parse.InvocationConfiguration.Error.WriteLine(ex.Message);
                return 2;
            }

            output.WriteLine(key.Key);
            output.WriteLine();
            output.WriteLine($"The line above is the API key of '{key.Name}' ({key.Role}). It is shown only now: hand it to its user,");
            output.WriteLine("who sends it as 'Authorization: ApiKey <key>' or 'X-Api-Key: <key>'. The service keeps only its hash:");
            output.WriteLine();
            output.WriteLine("appsettings.json, in the list \"Api\": { \"Keys\": [ … ] }:");
            output.WriteLine($"  {key.JsonEntry()}");
            output.WriteLine("or environment variables (n = the entry's position in the list, 0 for the first):");
            foreach (var line in key.EnvironmentLines(0))
            {
                output.WriteLine($"  {line.Replace("__0__", "__<n>__", StringComparison.Ordinal)}");
            }

            return 0;
        });
        var root = new RootCommand("Campus Telemetry; without a command it runs the service.")
        {
            new Command(Verb, "HTTP API keys.") { create },
        };
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output });
    }
}
