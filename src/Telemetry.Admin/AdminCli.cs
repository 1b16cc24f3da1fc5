using System.CommandLine;
using Telemetry.Admin.Devices;

namespace Telemetry.Admin;

/// <summary>The command tree; the streams are parameters so that tests run it in-process.</summary>
public static class AdminCli
{
    public const int Success = 0;
    public const int Usage = 1;
    public const int Failed = 2;

    public static Task<int> InvokeAsync(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Operator commands for Campus Telemetry.")
        {
            DevicesCommand.Create(input),
        };
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
