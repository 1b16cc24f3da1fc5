using System.CommandLine;
using System.Diagnostics;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Reports;

namespace Telemetry.Benchmarks;

/// <summary>
/// <c>telemetry-bench reports</c>: CPU time and allocations of computing one local day of the demo campus
/// (deploy/campus.yaml) from raw readings with <see cref="DayReport"/> — what the report grain does per dirty day
/// after InfluxDB answered its queries (the queries are not part of it). Baseline in the same run: one pass of
/// per-sensor, per-hour min/max/mean/count over the same readings, the least any recomputation has to do.
/// </summary>
static class ReportsCommand
{
    static readonly Option<int> Iterations = new("--iterations") { Description = "Campus days computed (after one warm-up).", DefaultValueFactory = _ => 10 };
    static readonly Option<int> EverySeconds = new("--every") { Description = "Seconds between two readings of one sensor.", DefaultValueFactory = _ => 60 };

    public static Command Create()
    {
        var command = new Command("reports", "CPU time and allocations of one campus day's hourly and daily figures (DayReport) against a one-pass hourly aggregate.")
        {
            Iterations, EverySeconds,
        };
        command.SetAction(parse =>
        {
            var iterations = Math.Max(1, parse.GetValue(Iterations));
            var every = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(EverySeconds)));
            Run(iterations, every, new Report(Console.Out));
            return 0;
        });
        return command;
    }

    static void Run(int iterations, TimeSpan every, Report report)
    {
        var path = Path.Combine(FindRoot(), "deploy", "campus.yaml");
        var loaded = CampusRegistryLoader.Load(File.ReadAllText(path), path);
        var registry = loaded.Registry ?? throw new InvalidOperationException($"{path} does not load: {string.Join("; ", loaded.Errors)}");
        var calendar = LocalCalendar.ForZone(registry.Campus.TimeZone);
        var day = calendar.Day(new DateOnly(2026, 11, 16)); // a Monday: timetables apply
        var settings = ReportSettings.Default;
        var inputs = registry.Buildings
            .Select(b => new DayReportInput(calendar, day, registry, b, Readings(registry, b, day, settings.Lookback, every), settings))
            .ToList();
        var readings = inputs.Sum(i => i.Readings.Values.Sum(r => r.Count));

        report.Title("Campus Telemetry — report figures of one campus day (DayReport)");
        report.Row("campus", $"{registry.Campus.Id}: {registry.Buildings.Count} buildings, {registry.Sensors.Count()} sensors, {registry.Campus.TimeZone}");
        report.Row("readings per campus day", $"{Report.Count(readings)} (one per sensor every {every.TotalSeconds:0} s)");
        report.Row("iterations", $"{iterations} (after one warm-up)");

        var (baselineCpu, baselineBytes) = Measure(iterations, () => Baseline(inputs, calendar));
        var points = 0;
        var (cpu, bytes) = Measure(iterations, () =>
        {
            var results = inputs.Select(DayReport.Compute).ToList();
            var campus = DayReport.Combine(registry.Campus.Id, day, results, settings);
            points = results.Sum(r => r.Sensors.Count + r.Meters.Count + r.Rooms.Count + r.BuildingFigures.Count) + campus.Count;
        });

        report.Section("Baseline: one pass of per-sensor hourly min/max/mean/count");
        report.Row("CPU per campus day", Report.Milliseconds(baselineCpu));
        report.Row("allocated per campus day", $"{Report.Number(baselineBytes / 1048576.0)} MiB");
        report.Section("DayReport.Compute per building + Combine");
        report.Row("figures per campus day", Report.Count(points));
        report.Row("CPU per campus day", $"{Report.Milliseconds(cpu)} ({Report.Number(cpu / baselineCpu)} × baseline)");
        report.Row("CPU per reading", $"{Report.Number(cpu / readings * 1e9, 0)} ns");
        report.Row("allocated per campus day", $"{Report.Number(bytes / 1048576.0)} MiB ({Report.Number(bytes / Math.Max(1, baselineBytes))} × baseline)");
        report.Row("a month of history", $"{Report.Seconds(TimeSpan.FromSeconds(cpu * 30))} of CPU for 30 days (plus the InfluxDB queries)");
        report.Flush();
    }

    /// <summary>Mean CPU seconds and allocated bytes of one run of <paramref name="work"/> on this thread.</summary>
    static (double CpuSeconds, double Bytes) Measure(int iterations, Action work)
    {
        work();
        GC.Collect();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < iterations; i++)
        {
            work();
        }

        var spent = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return (spent.TotalSeconds / iterations, (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)iterations);
    }

    static void Baseline(IReadOnlyList<DayReportInput> inputs, LocalCalendar calendar)
    {
        var sums = new Dictionary<(string, string, long), (double Min, double Max, double Sum, long Count)>();
        foreach (var input in inputs)
        {
            foreach (var (sensor, readings) in input.Readings)
            {
                foreach (var reading in readings)
                {
                    var hour = calendar.HourOf(DateTimeOffset.FromUnixTimeMilliseconds(reading.TimestampMs)).StartUtc.ToUnixTimeMilliseconds();
                    foreach (var (metric, value) in reading.Values)
                    {
                        var key = (sensor, metric, hour);
                        sums[key] = sums.TryGetValue(key, out var a)
                            ? (Math.Min(a.Min, value), Math.Max(a.Max, value), a.Sum + value, a.Count + 1)
                            : (value, value, value, 1);
                    }
                }
            }
        }
    }

    /// <summary>A day of plausible readings for every sensor of the building, from Lookback before to Lookback after.</summary>
    static Dictionary<string, IReadOnlyList<RawReading>> Readings(CampusRegistry registry, Building building, LocalWindow day, TimeSpan lookback, TimeSpan every)
    {
        var result = new Dictionary<string, IReadOnlyList<RawReading>>(StringComparer.Ordinal);
        var random = new Random(16);
        foreach (var room in building.Rooms)
        {
            foreach (var sensor in room.Sensors)
            {
                var kind = registry.Kinds[sensor.Kind];
                var list = new List<RawReading>();
                var register = 1000.0;
                for (var at = day.StartUtc - lookback; at < day.EndUtc + lookback; at += every)
                {
                    var hour = at.UtcDateTime.Hour;
                    var values = new Dictionary<string, double>(StringComparer.Ordinal);
                    foreach (var metric in kind.Metrics.Keys)
                    {
                        values[metric] = metric switch
                        {
                            "people" => hour is >= 7 and < 17 ? random.Next(0, Math.Max(1, room.Capacity)) : 0,
                            "power" => 20 + 10 * Math.Sin(hour / 24.0 * Math.Tau) + random.NextDouble(),
                            "energy" => register += 30 * every.TotalHours,
                            "temperature" => 21 + random.NextDouble() * 3,
                            "humidity" => 40 + random.NextDouble() * 10,
                            "co2" => 500 + random.NextDouble() * 800,
                            _ => random.NextDouble(),
                        };
                    }

                    list.Add(new RawReading(at.ToUnixTimeMilliseconds(), values));
                }

                result[sensor.Id] = list;
            }
        }

        return result;
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Telemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Telemetry.sln not found above " + AppContext.BaseDirectory);
    }
}
