using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.Service.Alerts;
using Telemetry.Service.Hosting;

namespace Telemetry.IntegrationTests.Alerts;

/// <summary>
/// The service as it is assembled (<see cref="TelemetryApp.Build"/>): the Alertmanager destination exists only when
/// <c>Alerts:Alertmanager:Url</c> is set, and <c>Alerts:Alertmanager</c> or <c>Alerts:ConsoleUrl</c> values that cannot
/// work stop the start with an error naming the key.
/// </summary>
public sealed class AlertmanagerConfigurationTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_service_has_an_Alertmanager_destination_only_when_its_Url_is_set()
    {
        var spool = Directory.CreateTempSubdirectory("telemetry-it-spool-").FullName;
        try
        {
            await using var without = TelemetryApp.Build([$"--Spool:Path={spool}"]);
            Assert.Empty(without.Services.GetServices<IAlertDestination>().OfType<AlertmanagerDestination>());

            await using var with = TelemetryApp.Build(
            [
                $"--Spool:Path={spool}", "--Alerts:Alertmanager:Url=http://127.0.0.1:9093/", "--Alerts:Alertmanager:RefreshInterval=00:00:30",
                "--Alerts:ConsoleUrl=https://telemetry.campus.example", "--Alerts:Webhooks:0:Url=http://127.0.0.1:9/hook",
            ]);
            var destination = Assert.Single(with.Services.GetServices<IAlertDestination>().OfType<AlertmanagerDestination>());
            Assert.Equal("alertmanager", destination.Name);
            Assert.Equal(TimeSpan.FromSeconds(30), destination.RefreshInterval);
            Assert.Equal("http://127.0.0.1:9093/api/v2/alerts", destination.AlertsUrl.AbsoluteUri);
            Assert.Equal("https://telemetry.campus.example/", with.Services.GetRequiredService<AlertConsoleLinks>().Base?.AbsoluteUri);

            // The Alerts section is bound once: its webhook list is not doubled.
            Assert.Single(with.Services.GetRequiredService<IOptions<AlertOptions>>().Value.Webhooks);
        }
        finally
        {
            Directory.Delete(spool, recursive: true);
        }
    }

    [Fact]
    public async Task Alertmanager_settings_that_cannot_work_stop_the_start_naming_their_keys()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var service = await TelemetryServiceHost.StartAsync(
                [
                    "--Alerts:Alertmanager:Url=http://admin:secret@alertmanager:9093", "--Alerts:Alertmanager:MinSeverity=7",
                    "--Alerts:Alertmanager:BearerToken=t", "--Alerts:Alertmanager:Username=admin", "--Alerts:ConsoleUrl=telemetry.campus.example",
                ],
                Ct);
        });

        Assert.Contains("Alerts:Alertmanager:Url must not hold credentials", error.Message, StringComparison.Ordinal);
        Assert.Contains("Alerts:Alertmanager:MinSeverity must be Info, Warning or Critical", error.Message, StringComparison.Ordinal);
        Assert.Contains("Alerts:Alertmanager: set either Username/Password or BearerToken", error.Message, StringComparison.Ordinal);
        Assert.Contains("Alerts:ConsoleUrl must be an absolute http or https URL", error.Message, StringComparison.Ordinal);
    }
}
