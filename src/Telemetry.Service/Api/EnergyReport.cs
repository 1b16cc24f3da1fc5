using System.Globalization;
using System.Text;
using Telemetry.Domain.Reports;

namespace Telemetry.Service.Api;

/// <summary>
/// One daily point of <c>building_1d</c> (<see cref="Room"/> null) or <c>room_1d</c> as the report reads it:
/// <see cref="Date"/> is the campus-local date of the point's time (the local day's UTC start), <see cref="Complete"/>
/// whether the day's point covers all its hour windows (for a room: its building's point).
/// </summary>
public sealed record EnergyDay(
    DateOnly Date, DateTimeOffset Time, string Building, string? Room,
    double? EnergyKwh, double? PeakKw, int? MetersRegister, int? MetersPower, bool Complete);

/// <summary>The answer of <c>GET /api/reports/energy</c> (JSON names in snake_case; see docs/reports.md).</summary>
public sealed record EnergyReport(
    string Campus,
    string Timezone,
    string From,
    string To,
    string By,
    string Period,
    IReadOnlyList<EnergyReportRow> Rows,
    IReadOnlyList<EnergyReportTotal> Totals,
    double TotalKwh)
{
    /// <summary>Figures are rounded to this many decimals (1 Wh, 1 W) when they are answered; sums are taken before.</summary>
    public const int Decimals = 3;

    /// <summary>
    /// Rows per local date or month and (building, room), totals per (building, room) over the whole range and the
    /// grand total, from the daily points (pure). A month row sums its days' kWh, takes the highest day peak and the
    /// highest meter counts, and is complete when every date of the month within [from, to] has a complete point.
    /// Buildings and rooms are the ones in the data, listed or not in today's registry.
    /// </summary>
    public static EnergyReport Build(string campus, string timeZone, LocalCalendar calendar, EnergyReportRequest request, IEnumerable<EnergyDay> points)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(points);

        // One point per (date, building, room): a point not at its local day's start was written under another time
        // zone (the registry's changed since) and gives way to the one that is.
        var days = points
            .Where(p => p.EnergyKwh is not null && p.Date >= request.From && p.Date <= request.To)
            .GroupBy(p => (p.Date, p.Building, p.Room))
            .Select(g => g.FirstOrDefault(p => p.Time == calendar.Day(p.Date).StartUtc) ?? g.Last())
            .ToList();

        var month = request.Period == EnergyReportPeriod.Month;
        var rows = days
            .GroupBy(d => (Key: month ? new DateOnly(d.Date.Year, d.Date.Month, 1) : d.Date, d.Building, d.Room))
            .Select(g =>
            {
                var first = month ? Max(g.Key.Key, request.From) : g.Key.Key;
                var last = month ? Min(g.Key.Key.AddMonths(1).AddDays(-1), request.To) : g.Key.Key;
                return new EnergyReportRow(
                    g.Key.Key.ToString(month ? "yyyy-MM" : "yyyy-MM-dd", CultureInfo.InvariantCulture),
                    g.Key.Building,
                    g.Key.Room,
                    Round(g.Sum(d => d.EnergyKwh!.Value)),
                    RoundOrNull(g.Max(d => d.PeakKw)),
                    g.Max(d => d.MetersRegister),
                    g.Max(d => d.MetersPower),
                    IsComplete(g, first, last));
            })
            .OrderBy(r => r.Period, StringComparer.Ordinal)
            .ThenBy(r => r.Building, StringComparer.Ordinal)
            .ThenBy(r => r.Room, StringComparer.Ordinal)
            .ToList();

        var totals = days
            .GroupBy(d => (d.Building, d.Room))
            .Select(g => new EnergyReportTotal(
                g.Key.Building, g.Key.Room, Round(g.Sum(d => d.EnergyKwh!.Value)), RoundOrNull(g.Max(d => d.PeakKw)), IsComplete(g, request.From, request.To)))
            .OrderBy(t => t.Building, StringComparer.Ordinal)
            .ThenBy(t => t.Room, StringComparer.Ordinal)
            .ToList();

        return new EnergyReport(
            campus,
            timeZone,
            request.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            request.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            request.By == EnergyReportBy.Room ? "room" : "building",
            month ? "month" : "day",
            rows,
            totals,
            Round(days.Sum(d => d.EnergyKwh!.Value)));
    }

    /// <summary>
    /// The report as CSV (RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote or line break quoted,
    /// quotes doubled; invariant culture): a header row, the rows, then one row per total with <c>total</c> in the
    /// period column, and last the grand total (<c>total</c> with the building left empty).
    /// </summary>
    public static string ToCsv(EnergyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rooms = report.By == "room";
        var csv = new StringBuilder();
        Line(csv, rooms
            ? ["period", "building", "room", "energy_kwh", "complete"]
            : ["period", "building", "energy_kwh", "peak_kw", "meters_register", "meters_power", "complete"]);
        foreach (var r in report.Rows)
        {
            Line(csv, rooms
                ? [r.Period, TextCell(r.Building), TextCell(r.Room), Number(r.EnergyKwh), Bool(r.Complete)]
                : [r.Period, TextCell(r.Building), Number(r.EnergyKwh), Number(r.PeakKw), Number(r.MetersRegister), Number(r.MetersPower), Bool(r.Complete)]);
        }

        foreach (var t in report.Totals)
        {
            Line(csv, rooms
                ? ["total", TextCell(t.Building), TextCell(t.Room), Number(t.EnergyKwh), Bool(t.Complete)]
                : ["total", TextCell(t.Building), Number(t.EnergyKwh), Number(t.PeakKw), "", "", Bool(t.Complete)]);
        }

        Line(csv, rooms ? ["total", "", "", Number(report.TotalKwh), ""] : ["total", "", Number(report.TotalKwh), "", "", "", ""]);
        return csv.ToString();
    }

    static void Line(StringBuilder csv, IReadOnlyList<string> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
            {
                csv.Append(',');
            }

            var field = fields[i];
            if (field.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                csv.Append('"').Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                csv.Append(field);
            }
        }

        csv.Append("\r\n");
    }

    /// <summary>
    /// A building or room id as a cell. Registry ids may begin with <c>= + - @</c>, which a spreadsheet would run as a
    /// formula: such an id is written with a leading apostrophe (OWASP's advice for CSV injection); JSON is unchanged.
    /// </summary>
    static string TextCell(string? id) => id is { Length: > 0 } && id[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + id : id ?? "";

    static string Number(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    static string Number(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    static string Bool(bool value) => value ? "true" : "false";

    static bool IsComplete(IEnumerable<EnergyDay> days, DateOnly first, DateOnly last)
    {
        var list = days.ToList();
        return list.Count == last.DayNumber - first.DayNumber + 1 && list.All(d => d.Complete);
    }

    static double Round(double value) => Math.Round(value, Decimals, MidpointRounding.AwayFromZero);

    static double? RoundOrNull(double? value) => value is { } v ? Round(v) : null;

    static DateOnly Max(DateOnly a, DateOnly b) => a > b ? a : b;

    static DateOnly Min(DateOnly a, DateOnly b) => a < b ? a : b;
}

/// <summary>
/// One row: <see cref="Period"/> a local date <c>2026-11-03</c> or month <c>2026-11</c>. By room, the peak and the meter
/// counts are not known (left out).
/// </summary>
public sealed record EnergyReportRow(
    string Period, string Building, string? Room, double EnergyKwh, double? PeakKw, int? MetersRegister, int? MetersPower, bool Complete);

/// <summary>A building's or room's total over [from, to]; complete when every date of the range has a complete point.</summary>
public sealed record EnergyReportTotal(string Building, string? Room, double EnergyKwh, double? PeakKw, bool Complete);
