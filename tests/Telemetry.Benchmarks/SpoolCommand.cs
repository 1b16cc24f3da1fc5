using System.CommandLine;
using System.CommandLine.Parsing;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary><c>telemetry-bench spool</c>: its options and how they become a <see cref="SpoolBenchmarkSettings"/>.</summary>
static class SpoolCommand
{
    static readonly Option<int> Messages = new("--messages")
    {
        Description = "Messages appended in the group-commit run.",
        DefaultValueFactory = _ => 200_000,
    };

    static readonly Option<int> Writers = new("--writers")
    {
        Description = "Concurrent appenders in the group-commit run, each awaiting WriteAsync in a loop (as many grains would).",
        DefaultValueFactory = _ => 64,
    };

    static readonly Option<int> LinesPerMessage = new("--lines-per-message")
    {
        Description = "Readings (lines) per message, i.e. per spool record.",
        DefaultValueFactory = _ => 1,
    };

    static readonly Option<int> BaselineMessages = new("--baseline-messages")
    {
        Description = "Messages appended by the single writer of the baseline run (one fsync each).",
        DefaultValueFactory = _ => 2_000,
    };

    static readonly Option<int> DrainLines = new("--drain-lines")
    {
        Description = "Lines put in a fresh spool (not timed) and then drained into InfluxDB (timed). 0 skips the drain.",
        DefaultValueFactory = _ => 500_000,
    };

    static readonly Option<string?> Dir = new("--dir")
    {
        Description = "Where the spools go (a fresh subfolder, deleted at the end). Must be on the disk you want to measure. " +
                      "[default: <repo>/.data/bench when run from the repository, else the system temp folder]",
    };

    static readonly Option<bool> Quick = new("--quick")
    {
        Description = "A smoke run of a few seconds: small defaults for every count not given explicitly.",
    };

    public static Command Create()
    {
        var command = new Command("spool",
            "Append throughput of the write-ahead spool with group commit and with a single writer, then drain throughput " +
            "into a real InfluxDB (influxd on a free loopback port), verified by counting the points. " +
            "Exit code 0: done and verified; 2: InfluxDB does not hold exactly the lines drained; 1: error.")
        {
            Messages, Writers, LinesPerMessage, BaselineMessages, DrainLines, Dir, Quick,
        };
        command.SetAction(RunAsync);
        return command;
    }

    static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        var quick = parse.GetValue(Quick);
        var settings = new SpoolBenchmarkSettings
        {
            Messages = Value(parse, Messages, quick, 5_000),
            Writers = Value(parse, Writers, quick, 64),
            LinesPerMessage = Value(parse, LinesPerMessage, quick, 1),
            BaselineMessages = Value(parse, BaselineMessages, quick, 200),
            DrainLines = Value(parse, DrainLines, quick, 20_000),
            Directory = parse.GetValue(Dir) ?? BenchPaths.DefaultDataDirectory(),
            Quick = quick,
        };

        if (settings.Validate() is { } problem)
        {
            await error.WriteLineAsync($"telemetry-bench: {problem}");
            return ExitCodes.Usage;
        }

        if (settings.DrainLines > 0 && !File.Exists(InfluxDbServer.ExecutablePath))
        {
            await error.WriteLineAsync($"telemetry-bench: the drain needs InfluxDB 1.x at {InfluxDbServer.ExecutablePath}: " +
                                       $"apt-get install -y {InfluxDbServer.AptPackage} (or skip the drain with --drain-lines 0)");
            return ExitCodes.Usage;
        }

        try
        {
            var benchmark = new SpoolBenchmark(settings, output, error);
            return await benchmark.RunAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("telemetry-bench: cancelled");
            return ExitCodes.Error;
        }
    }

    /// <summary>The option's value; under --quick the quick value unless the option was given explicitly.</summary>
    static int Value(ParseResult parse, Option<int> option, bool quick, int quickValue) =>
        quick && parse.GetResult(option) is null or { Implicit: true } ? quickValue : parse.GetValue(option);
}

static class ExitCodes
{
    public const int Success = 0;
    public const int Error = 1;
    public const int Usage = 1;
    public const int Mismatch = 2;
}
