using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Reports;
using Telemetry.Service.Security;
using Telemetry.Storage.Influx;

namespace Telemetry.Service.Api;

/// <summary>
/// <c>GET /api/reports/energy?from=YYYY-MM-DD&amp;to=YYYY-MM-DD&amp;by=building|room&amp;period=day|month[&amp;format=json|csv]</c>
/// (role viewer): kWh per campus-local day or month per building or room, with totals, read from the daily series
/// <c>building_1d</c> / <c>room_1d</c> the report grain writes to the long-retention destination (docs/reports.md,
/// "Energy report API"). JSON, or CSV with <c>format=csv</c> or <c>Accept: text/csv</c>. Bad parameters are 400
/// naming the parameter; InfluxDB unreachable or refusing the query is 503.
/// </summary>
public static class ReportsApi
{
    public const string EnergyPath = "/api/reports/energy";

    /// <summary>snake_case names, as docs/reports.md shows them; figures that are not known are left out.</summary>
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static WebApplication MapReportsApi(this WebApplication app)
    {
        app.MapGet(EnergyPath, async (HttpContext http, ICampusRegistrySource registry, IInfluxQuery influx, ILoggerFactory logs) =>
        {
            var parsed = EnergyReportRequest.Parse(http.Request.Query, http.Request.Headers.Accept);
            if (parsed.Request is not { } request)
            {
                return Results.Problem(parsed.Error, statusCode: StatusCodes.Status400BadRequest,
                    extensions: new Dictionary<string, object?> { ["parameter"] = parsed.Parameter });
            }

            var campus = registry.Current.Campus;
            var calendar = LocalCalendar.ForZone(campus.TimeZone);
            IReadOnlyList<EnergyDay> days;
            try
            {
                days = await ReadDaysAsync(influx, calendar, request, http.RequestAborted);
            }
            catch (InfluxQueryException ex)
            {
                logs.CreateLogger(typeof(ReportsApi).FullName!).LogWarning("The energy report could not be read from InfluxDB: {Error}", ex.Message);
                return Results.Problem($"the energy report could not be read from InfluxDB: {ex.Message}", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var report = EnergyReport.Build(campus.Id, campus.TimeZone, calendar, request, days);
            if (request.Csv)
            {
                var file = string.Create(CultureInfo.InvariantCulture, $"energy-{request.From:yyyy-MM-dd}-{request.To:yyyy-MM-dd}.csv");
                http.Response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileName = file }.ToString();
                return Results.Text(EnergyReport.ToCsv(report), "text/csv; charset=utf-8", Encoding.UTF8);
            }

            return Results.Json(report, Json);
        })
        .WithName("GetEnergyReport")
        .WithSummary("Energy per building or room and period (JSON, or CSV with format=csv)")
        .Produces<EnergyReport>(StatusCodes.Status200OK, "application/json", "text/csv")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
        .RequireAuthorization(ApiRoles.Viewer);
        return app;
    }

    /// <summary>
    /// The daily points of the request's local dates: one query over <c>[day(from).start, day(to).end)</c> in UTC.
    /// A building's day is complete when its <c>hours</c> (hour windows covered) reach the number of hour windows of that
    /// local day (23, 24 or 25 across DST). By room, the buildings' <c>hours</c> are read as well: a room's day point is computed with its building's, so the
    /// building's hour count says whether the room's day is complete.
    /// </summary>
    static async Task<IReadOnlyList<EnergyDay>> ReadDaysAsync(IInfluxQuery influx, LocalCalendar calendar, EnergyReportRequest request, CancellationToken ct)
    {
        var startMs = calendar.Day(request.From).StartUtc.ToUnixTimeMilliseconds();
        var endMs = calendar.Day(request.To).EndUtc.ToUnixTimeMilliseconds();
        var where = string.Create(CultureInfo.InvariantCulture, $"WHERE time >= {startMs}ms AND time < {endMs}ms");
        var buildings = await influx.QueryAsync(
            $"SELECT \"energy_kwh\", \"peak_kw\", \"meters_register\", \"meters_power\", \"hours\" FROM {influx.LongTerm("building_1d")} {where} GROUP BY \"building\"", ct);

        var buildingDays = new List<EnergyDay>();
        var expectedHours = new Dictionary<DateOnly, int>();
        foreach (var series in buildings)
        {
            for (var row = 0; row < series.Rows.Count; row++)
            {
                var time = DateTimeOffset.FromUnixTimeMilliseconds(series.Time(row));
                var day = calendar.DayOf(time);
                if (!expectedHours.TryGetValue(day.LocalDate, out var expected))
                {
                    expected = expectedHours[day.LocalDate] = calendar.Windows(ReportPeriod.Hour, day.StartUtc, day.EndUtc).Count();
                }

                var hours = series.Number(row, "hours");
                buildingDays.Add(new EnergyDay(
                    day.LocalDate, time, series.Tag("building"), null,
                    series.Number(row, "energy_kwh"), series.Number(row, "peak_kw"),
                    ToCount(series.Number(row, "meters_register")), ToCount(series.Number(row, "meters_power")),
                    hours is { } h && h >= expected));
            }
        }

        if (request.By == EnergyReportBy.Building)
        {
            return buildingDays;
        }

        var complete = buildingDays.GroupBy(d => (d.Date, d.Building)).ToDictionary(g => g.Key, g => g.Any(d => d.Complete));
        var rooms = await influx.QueryAsync($"SELECT \"energy_kwh\" FROM {influx.LongTerm("room_1d")} {where} GROUP BY \"building\", \"room\"", ct);
        var roomDays = new List<EnergyDay>();
        foreach (var series in rooms)
        {
            for (var row = 0; row < series.Rows.Count; row++)
            {
                var time = DateTimeOffset.FromUnixTimeMilliseconds(series.Time(row));
                var date = calendar.DayOf(time).LocalDate;
                var building = series.Tag("building");
                roomDays.Add(new EnergyDay(date, time, building, series.Tag("room"), series.Number(row, "energy_kwh"), null, null, null,
                    complete.GetValueOrDefault((date, building))));
            }
        }

        return roomDays;
    }

    static int? ToCount(double? value) => value is { } v ? (int)Math.Round(v) : null;
}

public enum EnergyReportBy
{
    Building,
    Room,
}

public enum EnergyReportPeriod
{
    Day,
    Month,
}

/// <summary>The parameters of one energy report request, validated by <see cref="Parse"/> (the one place that checks them).</summary>
public sealed record EnergyReportRequest(DateOnly From, DateOnly To, EnergyReportBy By, EnergyReportPeriod Period, bool Csv)
{
    /// <summary>The longest span one request may cover: <c>to</c> at most this many years after <c>from</c>.</summary>
    public const int MaxYears = 3;

    /// <summary>
    /// Reads and checks the query string: <c>from</c> and <c>to</c> required campus-local dates (<c>YYYY-MM-DD</c>),
    /// <c>from ≤ to</c>, at most <see cref="MaxYears"/> years apart; <c>by</c> <c>building</c> (default) or <c>room</c>;
    /// <c>period</c> <c>day</c> (default) or <c>month</c>; <c>format</c> <c>json</c> or <c>csv</c>, and without it CSV
    /// when the Accept header prefers <c>text/csv</c> to <c>application/json</c>. Returns the request, or the parameter at
    /// fault and why.
    /// </summary>
    public static (EnergyReportRequest? Request, string? Parameter, string? Error) Parse(IQueryCollection query, IList<string?>? accept)
    {
        ArgumentNullException.ThrowIfNull(query);
        foreach (var name in new[] { "from", "to", "by", "period", "format" })
        {
            if (query[name].Count > 1)
            {
                return (null, name, $"'{name}' is given {query[name].Count} times; give it once");
            }
        }

        if (Date(query, "from") is { Error: { } fromError })
        {
            return (null, "from", fromError);
        }

        if (Date(query, "to") is { Error: { } toError })
        {
            return (null, "to", toError);
        }

        var from = Date(query, "from").Date;
        var to = Date(query, "to").Date;
        if (to < from)
        {
            return (null, "to", $"'to' ({to:yyyy-MM-dd}) is before 'from' ({from:yyyy-MM-dd})");
        }

        if (to > from.AddYears(MaxYears))
        {
            return (null, "to", $"'from' to 'to' spans more than {MaxYears} years; ask for at most {MaxYears} years at a time");
        }

        EnergyReportBy? by = (string?)query["by"] switch
        {
            null or "" or "building" => EnergyReportBy.Building,
            "room" => EnergyReportBy.Room,
            _ => null,
        };
        if (by is null)
        {
            return (null, "by", $"'by' must be 'building' or 'room', not '{Visible(query["by"])}'");
        }

        EnergyReportPeriod? period = (string?)query["period"] switch
        {
            null or "" or "day" => EnergyReportPeriod.Day,
            "month" => EnergyReportPeriod.Month,
            _ => null,
        };
        if (period is null)
        {
            return (null, "period", $"'period' must be 'day' or 'month', not '{Visible(query["period"])}'");
        }

        bool? csv = (string?)query["format"] switch
        {
            null or "" => PrefersCsv(accept),
            "json" => false,
            "csv" => true,
            _ => null,
        };
        if (csv is null)
        {
            return (null, "format", $"'format' must be 'json' or 'csv', not '{Visible(query["format"])}'");
        }

        return (new EnergyReportRequest(from, to, by.Value, period.Value, csv.Value), null, null);
    }

    static (DateOnly Date, string? Error) Date(IQueryCollection query, string name)
    {
        var text = (string?)query[name];
        if (string.IsNullOrEmpty(text))
        {
            return (default, $"'{name}' is required: a campus-local date YYYY-MM-DD");
        }

        return LocalCalendar.TryParseDate(text, out var date)
            ? (date, null)
            : (default, $"'{name}' must be a date YYYY-MM-DD, not '{Visible(text)}'");
    }

    /// <summary>CSV when the Accept header gives <c>text/csv</c> a quality above zero and at least that of <c>application/json</c>.</summary>
    static bool PrefersCsv(IList<string?>? accept)
    {
        if (accept is null || !MediaTypeHeaderValue.TryParseList([.. accept.OfType<string>()], out var types))
        {
            return false;
        }

        double Quality(string mediaType) => types
            .Where(t => t.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase))
            .Select(t => t.Quality ?? 1.0)
            .DefaultIfEmpty(0.0)
            .Max();

        var csv = Quality("text/csv");
        return csv > 0 && csv >= Quality("application/json");
    }

    /// <summary>A parameter value fit to echo in an answer: printable, at most 40 characters.</summary>
    static string Visible(string? value)
    {
        var text = Text.Visible(value ?? "");
        return text.Length > 40 ? text[..40] + "…" : text;
    }
}
