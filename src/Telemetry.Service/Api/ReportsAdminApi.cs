using System.Globalization;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Reports;
using Telemetry.Grains.Reports;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// The report grain for operators (docs/operations.md, "Reports"):
/// <list type="bullet">
/// <item><c>GET /api/reports/status</c> (role viewer): the dirty local days waiting to be computed, the end of the last
///   closed hour, days computed since the grain's activation and its last failure.</item>
/// <item><c>POST /api/reports/recompute?from=YYYY-MM-DD&amp;to=YYYY-MM-DD</c> (role admin): marks the campus local days
///   <c>from</c> to <c>to</c> (inclusive, at most 366) dirty; the grain computes them from the raw readings at its next
///   ticks. 202 with the days marked; 400 for a bad range; 404 when reports are off.</item>
/// </list>
/// </summary>
public static class ReportsAdminApi
{
    /// <summary>The longest range one recompute request may mark.</summary>
    public const int MaxDays = 366;

    public static WebApplication MapReportsAdminApi(this WebApplication app)
    {
        app.MapGet("/api/reports/status", async (IGrainFactory grains, IOptions<ReportOptions> options, CancellationToken ct) =>
        {
            if (!options.Value.Enabled)
            {
                return Results.Problem("reports are off (Reports:Enabled=false)", statusCode: StatusCodes.Status404NotFound);
            }

            var status = await grains.GetGrain<IReportGrain>(ReportKeys.Campus).GetStatusAsync().WaitAsync(ct);
            return Results.Ok(new
            {
                dirtyDays = status.DirtyDays,
                lastClosedHourEnd = status.LastClosedHourEndMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(status.LastClosedHourEndMs).ToString("O", CultureInfo.InvariantCulture),
                daysComputed = status.DaysComputed,
                lastFailure = status.LastFailure,
            });
        })
        .WithName("GetReportStatus")
        .WithSummary("What the report grain has computed and what is waiting")
        .RequireAuthorization(ApiRoles.Viewer);

        app.MapPost("/api/reports/recompute", async (string? from, string? to, IGrainFactory grains, IOptions<ReportOptions> options, TimeProvider time, CancellationToken ct) =>
        {
            if (!options.Value.Enabled)
            {
                return Results.Problem("reports are off (Reports:Enabled=false)", statusCode: StatusCodes.Status404NotFound);
            }

            if (!LocalCalendar.TryParseDate(from, out var first) || !LocalCalendar.TryParseDate(to, out var last))
            {
                return Results.Problem("from and to must be campus local dates YYYY-MM-DD", statusCode: StatusCodes.Status400BadRequest);
            }

            if (last < first || last.DayNumber - first.DayNumber + 1 > MaxDays)
            {
                return Results.Problem($"to must not be before from, and the range at most {MaxDays} days", statusCode: StatusCodes.Status400BadRequest);
            }

            // A day whose raw readings have expired would be recomputed from what is left and replace good figures:
            // only days within Reports:Lateness (at most Ingest:MaxAge, readings the service still takes) are recomputed.
            var oldest = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(-(int)Math.Ceiling(options.Value.Lateness.TotalDays));
            if (first < oldest)
            {
                return Results.Problem(
                    $"from is before {oldest:yyyy-MM-dd}, older than Reports:Lateness ({options.Value.Lateness.TotalDays:0.##} days): its raw readings may have expired and a recomputation would replace its figures with what is left; raise Reports:Lateness (at most Ingest:MaxAge, within the raw retention) to recompute older days",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            var marked = await grains.GetGrain<IReportGrain>(ReportKeys.Campus).RecomputeAsync(first, last).WaitAsync(ct);
            return Results.Accepted(value: new { from, to, days = marked });
        })
        .WithName("RecomputeReports")
        .WithSummary("Marks report days for recomputation")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .RequireAuthorization(ApiRoles.Admin);
        return app;
    }
}
