using Microsoft.Extensions.Options;
using Telemetry.Grains.Reports;
using Telemetry.Service.Reports;
using Telemetry.Storage.Reports;

namespace Telemetry.Service.Hosting;

/// <summary>Hourly and daily reports (section <c>Reports</c>; docs/reports.md): options, the drainer's marks and their forwarder.</summary>
public static class ReportHosting
{
    /// <summary>
    /// Validated options always (the report grain reads them wherever it runs); marks and the forwarder only when
    /// <c>Reports:Enabled</c> — otherwise the drainer keeps its no-op marks and no report grain is activated. After
    /// the silo, so the forwarder stops (and flushes) before it.
    /// </summary>
    public static WebApplicationBuilder AddTelemetryReports(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReportOptions>().BindConfiguration(ReportOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ReportOptions>, ReportOptionsValidator>();
        var enabled = builder.Configuration.GetSection(ReportOptions.SectionName).Get<ReportOptions>()?.Enabled ?? new ReportOptions().Enabled;
        if (enabled)
        {
            builder.Services.AddSingleton<ReportMarks>();
            builder.Services.AddSingleton<IReportMarks>(sp => sp.GetRequiredService<ReportMarks>());
            builder.Services.AddHostedService<ReportMarkForwarder>();
        }

        return builder;
    }
}
