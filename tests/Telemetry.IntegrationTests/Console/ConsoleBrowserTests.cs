using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using OpenQA.Selenium;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.Service.Security;
using Telemetry.Tests.Dashboards;

namespace Telemetry.IntegrationTests.TechnicianConsole;

/// <summary>
/// The technician console in a real headless browser (Debian's chromium through chromedriver) against the real
/// service with API keys: sign in, an alert raised over MQTT appears by itself, it is acknowledged with a note through
/// the page, and the acknowledgement is in the API, on MQTT and in InfluxDB under the key's name. The screenshot taken
/// here is docs/img/console.png.
/// </summary>
[Collection(ConsoleFixture.CollectionName)]
public sealed class ConsoleBrowserTests(ConsoleFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    Uri Url(string path) => new(fixture.Service.HttpUrl, path);

    [Fact]
    public async Task A_technician_signs_in_sees_a_new_alert_appear_and_acknowledges_it_with_a_note_recorded_in_the_api_mqtt_and_influxdb()
    {
        const string sensor = "chem-lab2-freezer1";
        const string note = "door was ajar, closed it";
        await using var watcher = await AlertWatcher.StartAsync(fixture.Service);
        // Alerts already open when the technician arrives (and in the screenshot): a warning in another building, a critical here.
        await fixture.PublishAsync("bio", "cold-room", "bio-cold-freezer1", -11.0, 0, Ct);
        await fixture.PublishAsync("chem", "lab-2", "chem-lab2-freezer2", -31.0, 3, Ct);
        await fixture.WaitForAlertAsync("bio-cold-freezer1", ConsoleFixture.WarmRule, Ct);
        await fixture.WaitForAlertAsync("chem-lab2-freezer2", ConsoleFixture.FaultRule, Ct);

        using var browser = Chromium.Start(width: 1440, height: 560);
        browser.Open(Url("console"));
        await Poll.UntilAsync("the console to send a browser without a sign-in to /console/sign-in",
            () => Task.FromResult(browser.PathAndQuery), p => p == "/console/sign-in?returnUrl=%2Fconsole", Deadline, cancellationToken: Ct);
        browser.Driver.FindElement(By.Id("key")).SendKeys(fixture.Technician.Key);
        browser.Driver.FindElement(By.Id("sign-in")).Click();
        await Poll.UntilAsync("the console to show who is signed in",
            () => Task.FromResult(browser.TextOf("#whoami")), t => t?.Contains("signed in as night shift", StringComparison.Ordinal) == true, Deadline, cancellationToken: Ct);
        Assert.Equal("/console", browser.PathAndQuery);
        await Poll.UntilAsync("the two open alerts in the list",
            () => Task.FromResult(browser.All("#alerts tr").Count), n => n >= 2, Deadline, cancellationToken: Ct);

        // Raised while the page is open: it has to appear without a reload.
        await fixture.PublishAsync("chem", "lab-2", sensor, -4.5, 7, Ct);
        var id = await Poll.UntilAsync($"the new {ConsoleFixture.FaultRule} alert of {sensor} to appear in the page",
            () => Task.FromResult(RowId(browser, sensor, ConsoleFixture.FaultRule)), i => i is not null, Deadline, cancellationToken: Ct);
        Assert.Equal(id, browser.All("#alerts tr")[0].GetAttribute("data-alert-id")); // newest first; of the two alerts of that one reading, the critical one first
        var row = Row(browser, id!);
        row.FindElement(By.CssSelector("input.note")).SendKeys(note);
        row.FindElement(By.CssSelector("button.ack")).Click();

        await Poll.UntilAsync("the row to show the acknowledgement",
            () => Task.FromResult(Row(browser, id!).FindElement(By.CssSelector("td.state")).Text),
            s => s.Contains("acknowledged by night shift", StringComparison.Ordinal) && s.Contains(note, StringComparison.Ordinal),
            Deadline, cancellationToken: Ct);
        SaveScreenshot(browser);

        // The API: recorded under the key's name, with the note.
        using var read = new HttpRequestMessage(HttpMethod.Get, new Uri($"api/alerts/{id}", UriKind.Relative));
        read.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, fixture.Viewer.Key);
        using var answer = await fixture.Service.Http.SendAsync(read, Ct);
        answer.EnsureSuccessStatusCode();
        var alert = await answer.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("acknowledged", alert.GetProperty("state").GetString());
        Assert.Equal("night shift", alert.GetProperty("acknowledgedBy").GetString());
        Assert.Equal(note, alert.GetProperty("acknowledgeNote").GetString());

        // MQTT: the acknowledged step of this alert on campus/alerts/#.
        var step = await Poll.UntilAsync($"the acknowledged step of {id} on campus/alerts/#",
            () => Task.FromResult(watcher.Steps().FirstOrDefault(s => s.GetProperty("id").GetString() == id && s.GetProperty("event").GetString() == "acknowledged")),
            s => s.ValueKind == JsonValueKind.Object, Deadline, show: _ => string.Join("; ", watcher.Steps().Select(s => s.GetRawText())), cancellationToken: Ct);
        Assert.Equal("night shift", step.GetProperty("acknowledgedBy").GetString());
        Assert.Equal(note, step.GetProperty("acknowledgeNote").GetString());

        // InfluxDB: the alerts measurement's acknowledged point, by the key's name.
        var by = await Poll.UntilAsync($"the acknowledged point of {id} in InfluxDB",
            async () =>
            {
                var series = await fixture.Influx.QueryAsync("campus", $"SELECT \"by\", \"acknowledged\" FROM alerts WHERE alert_id = '{id}' AND \"event\" = 'acknowledged'", Ct);
                return series.Count == 0 || series[0].Values.Count == 0 ? null : series[0].Get(0, "by").GetString();
            },
            b => b is not null, Deadline, cancellationToken: Ct);
        Assert.Equal("night shift", by);
    }

    [Fact]
    public async Task A_viewer_key_is_refused_at_the_sign_in_and_cannot_reach_the_console_or_acknowledge()
    {
        const string sensor = "chem-lab2-freezer4";
        await fixture.PublishAsync("chem", "lab-2", sensor, -28.0, 5, Ct);
        var id = await fixture.WaitForAlertAsync(sensor, ConsoleFixture.FaultRule, Ct);

        using var browser = Chromium.Start();
        browser.Open(Url("console/sign-in"));
        browser.Driver.FindElement(By.Id("key")).SendKeys(fixture.Viewer.Key);
        browser.Driver.FindElement(By.Id("sign-in")).Click();
        var error = await Poll.UntilAsync("the sign-in page to say why the viewer key is refused",
            () => Task.FromResult(browser.TextOf("#error")), t => !string.IsNullOrEmpty(t), Deadline, cancellationToken: Ct);
        Assert.Contains("technician", error, StringComparison.Ordinal);
        Assert.StartsWith("/console/sign-in", browser.PathAndQuery, StringComparison.Ordinal);
        Assert.DoesNotContain(browser.Driver.Manage().Cookies.AllCookies, c => c.Name == "campus-console");

        // The alert's own page, opened directly: back to the sign-in, with the way back remembered.
        browser.Open(Url($"console/alerts/{id}"));
        await Poll.UntilAsync("the alert page to send the viewer to the sign-in",
            () => Task.FromResult(browser.PathAndQuery), p => p.StartsWith("/console/sign-in?returnUrl=", StringComparison.Ordinal), Deadline, cancellationToken: Ct);
        Assert.Contains(Uri.EscapeDataString($"/console/alerts/{id}"), browser.PathAndQuery, StringComparison.Ordinal);

        // And the key itself may not acknowledge through the API.
        using var ack = new HttpRequestMessage(HttpMethod.Post, new Uri($"api/alerts/{id}/ack", UriKind.Relative)) { Content = JsonContent.Create(new { note = "seen" }) };
        ack.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, fixture.Viewer.Key);
        ack.Headers.Add("X-Console", "1");
        using var refused = await fixture.Service.Http.SendAsync(ack, Ct);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        var alert = await fixture.ActiveAlertAsync(sensor, ConsoleFixture.FaultRule, Ct);
        Assert.Equal("active", alert!.Value.GetProperty("state").GetString());
    }

    [Fact]
    public async Task The_filters_the_alert_page_and_the_sensor_page_show_what_the_api_holds_and_clear_is_one_click()
    {
        const string sensor = "bio-cold-freezer2";
        await fixture.PublishAsync("bio", "cold-room", sensor, -2.0, 4, Ct);
        var id = await fixture.WaitForAlertAsync(sensor, ConsoleFixture.FaultRule, Ct);
        await fixture.WaitForAlertAsync(sensor, ConsoleFixture.WarmRule, Ct);
        using var browser = await SignedInAsync();

        // Filters: only the building's, only the severity's rows; the choice is kept in the address.
        new OpenQA.Selenium.Support.UI.SelectElement(browser.Driver.FindElement(By.Id("filter-building"))).SelectByValue("bio");
        await Poll.UntilAsync("only alerts of building bio in the list",
            () => Task.FromResult(browser.All("#alerts td.where").Select(c => c.Text).ToList()),
            w => w.Count > 0 && w.All(t => t.StartsWith("bio /", StringComparison.Ordinal)), Deadline, cancellationToken: Ct);
        new OpenQA.Selenium.Support.UI.SelectElement(browser.Driver.FindElement(By.Id("filter-severity"))).SelectByValue("critical");
        await Poll.UntilAsync("only critical alerts of building bio in the list",
            () => Task.FromResult(browser.All("#alerts td.severity").Select(c => c.Text).ToList()),
            s => s.Count > 0 && s.All(t => t == "critical"), Deadline, cancellationToken: Ct);
        Assert.Equal("/console?building=bio&severity=critical", browser.PathAndQuery);
        Assert.NotNull(RowId(browser, sensor, ConsoleFixture.FaultRule));

        // The alert's page, reached from its row.
        Row(browser, id).FindElement(By.CssSelector("td.rule a")).Click();
        await Poll.UntilAsync("the alert's page", () => Task.FromResult(browser.TextOf("#alert-fields")),
            t => t?.Contains(id, StringComparison.Ordinal) == true && t.Contains("fault code 4", StringComparison.Ordinal), Deadline, cancellationToken: Ct);
        Assert.Equal(ConsoleEndpointsPath(id), browser.PathAndQuery);

        // The sensor's page, from the alert's: online, its last values, its alerts.
        browser.Driver.FindElement(By.CssSelector("#alert-fields a")).Click();
        await Poll.UntilAsync("the sensor's page with its values and both alerts",
            () => Task.FromResult((Values: browser.TextOf("#sensor-values"), Alerts: browser.All("#sensor-alerts tr").Count, Online: browser.TextOf("#sensor-online"))),
            p => p.Values?.Contains("fault 4", StringComparison.Ordinal) == true && p.Values.Contains("temperature -2", StringComparison.Ordinal) && p.Alerts == 2
                 && p.Online?.StartsWith("online", StringComparison.Ordinal) == true,
            Deadline, cancellationToken: Ct);
        Assert.Equal($"/console/sensors/{sensor}", browser.PathAndQuery);

        // Back to the alert, cleared there in one click: recorded under the key's name.
        browser.Open(Url(ConsoleEndpointsPath(id)[1..]));
        await Poll.UntilAsync("the alert page's Clear button", () => Task.FromResult(browser.All("#alert-clear").Count), n => n == 1, Deadline, cancellationToken: Ct);
        await Poll.UntilAsync("the alert page to have loaded the alert", () => Task.FromResult(browser.TextOf("#alert-fields")), t => !string.IsNullOrEmpty(t), Deadline, cancellationToken: Ct);
        browser.Driver.FindElement(By.Id("alert-clear")).Click();
        await Poll.UntilAsync("the alert page to show the clear", () => Task.FromResult(browser.TextOf("#alert-fields")),
            t => t?.Contains("cleared by night shift", StringComparison.Ordinal) == true, Deadline, cancellationToken: Ct);
        Assert.Null(await fixture.ActiveAlertAsync(sensor, ConsoleFixture.FaultRule, Ct));
    }

    static string ConsoleEndpointsPath(string id) => Telemetry.Service.TechnicianConsole.ConsoleEndpoints.AlertPath(id);

    /// <summary>A browser signed in with the technician's key, on the list of active alerts.</summary>
    async Task<Chromium> SignedInAsync()
    {
        var browser = Chromium.Start();
        try
        {
            browser.Open(Url("console/sign-in"));
            browser.Driver.FindElement(By.Id("key")).SendKeys(fixture.Technician.Key);
            browser.Driver.FindElement(By.Id("sign-in")).Click();
            await Poll.UntilAsync("the console to show who is signed in",
                () => Task.FromResult(browser.TextOf("#whoami")), t => t?.Contains("night shift", StringComparison.Ordinal) == true, Deadline, cancellationToken: Ct);
            return browser;
        }
        catch
        {
            browser.Dispose();
            throw;
        }
    }

    static string? RowId(Chromium browser, string sensor, string rule) =>
        browser.All("#alerts tr")
            .FirstOrDefault(r => r.FindElement(By.CssSelector("td.sensor")).Text == sensor && r.FindElement(By.CssSelector("td.rule")).Text == rule)
            ?.GetAttribute("data-alert-id");

    static IWebElement Row(Chromium browser, string id) => browser.Driver.FindElement(By.CssSelector($"#alerts tr[data-alert-id=\"{id}\"]"));

    /// <summary>Into the repository's docs (docs/img/console.png, committed) and the test output.</summary>
    static void SaveScreenshot(Chromium browser)
    {
        var output = Path.Combine(AppContext.BaseDirectory, "screenshots", "console.png");
        browser.Screenshot(output);
        var docs = Path.Combine(DashboardCatalog.RepositoryRoot, "docs", "img", "console.png");
        Directory.CreateDirectory(Path.GetDirectoryName(docs)!);
        File.Copy(output, docs, overwrite: true);
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot: {output} and {docs}");
    }

    /// <summary>An MQTT client of the service subscribed to <c>campus/alerts/#</c>, keeping each alert step's JSON.</summary>
    sealed class AlertWatcher : IAsyncDisposable
    {
        readonly IMqttClient client;
        readonly ConcurrentQueue<JsonElement> received = new();

        AlertWatcher(IMqttClient client) => this.client = client;

        public static async Task<AlertWatcher> StartAsync(TelemetryServiceHost service)
        {
            var watcher = new AlertWatcher(await service.ConnectAsync($"console-watcher-{Guid.NewGuid():N}", cancellationToken: Ct));
            watcher.client.ApplicationMessageReceivedAsync += args =>
            {
                var payload = args.ApplicationMessage.ConvertPayloadToString();
                if (!string.IsNullOrEmpty(payload))
                {
                    watcher.received.Enqueue(JsonDocument.Parse(payload).RootElement.Clone());
                }

                return Task.CompletedTask;
            };
            var subscribed = await watcher.client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter("campus/alerts/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
            Assert.True(subscribed.Items.All(i => (int)i.ResultCode <= 2), $"subscription refused ({string.Join(", ", subscribed.Items.Select(i => i.ResultCode))})");
            return watcher;
        }

        public List<JsonElement> Steps() => [.. received];

        public async ValueTask DisposeAsync()
        {
            await client.DisconnectAsync();
            client.Dispose();
        }
    }
}
