using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.IntegrationTests.Security;
using Telemetry.Service.Security;

namespace Telemetry.IntegrationTests.TechnicianConsole;

/// <summary>
/// Who reaches the console, over plain HTTP against the real service with API keys: without a sign-in its pages
/// redirect to the sign-in and the API stays 401; the sign-in takes a technician's key (not a viewer's) and answers
/// with an HttpOnly, SameSite=Strict cookie; with that cookie a change needs the <c>X-Console</c> header, and is recorded
/// under the key's name.
/// </summary>
[Collection(ConsoleFixture.CollectionName)]
public sealed class ConsoleAccessTests(ConsoleFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient NewClient() => new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }, disposeHandler: true)
    {
        BaseAddress = fixture.Service.HttpUrl,
        Timeout = TimeSpan.FromSeconds(30),
    };

    [Theory]
    [InlineData("console", "/console")]
    [InlineData("console/alerts/chem-lab2-freezer3/freezer-fault/1764790000000", "/console/alerts/chem-lab2-freezer3/freezer-fault/1764790000000")]
    [InlineData("console/sensors/chem-lab2-freezer3", "/console/sensors/chem-lab2-freezer3")]
    public async Task Without_a_sign_in_a_console_page_redirects_to_the_sign_in(string path, string returnUrl)
    {
        using var http = NewClient();
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = new Uri(fixture.Service.HttpUrl, response.Headers.Location!);
        Assert.Equal("/console/sign-in", location.AbsolutePath);
        Assert.Equal("?returnUrl=" + Uri.EscapeDataString(returnUrl), location.Query);
    }

    [Fact]
    public async Task The_sign_in_page_and_the_files_are_anonymous_with_a_strict_content_security_policy()
    {
        using var http = NewClient();
        foreach (var path in new[] { "console/sign-in", "console/assets/console.js", "console/assets/sign-in.js", "console/assets/console.css" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        using var missing = await http.GetAsync(new Uri("console/assets/secrets.json", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task The_sign_in_refuses_no_key_an_unknown_key_and_a_viewer_key()
    {
        using var http = NewClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(http, key: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(http, ApiKeys.Create("stranger", ApiRoles.Admin).Key)).StatusCode);
        using var viewer = await SignInAsync(http, fixture.Viewer.Key);
        Assert.Equal(HttpStatusCode.Forbidden, viewer.StatusCode);
        Assert.False(viewer.Headers.Contains("Set-Cookie"));
        // Without X-Console (a form posted from another site could not add it): refused even with a good key.
        using var bare = await SignInAsync(http, fixture.Technician.Key, consoleHeader: false);
        Assert.Equal(HttpStatusCode.BadRequest, bare.StatusCode);
        Assert.False(bare.Headers.Contains("Set-Cookie"));
        await Poll.UntilAsync("the sign-in without X-Console to be counted on /metrics",
            async () => PrometheusText.Sum(await http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct), "telemetry_api_requests_refused_total", "reason=\"console_header_missing\""),
            n => n >= 1, TimeSpan.FromSeconds(60), cancellationToken: Ct);
    }

    [Fact]
    public async Task The_sign_in_cookie_is_HttpOnly_and_SameSite_Strict_and_a_change_made_with_it_needs_X_Console_and_is_recorded_under_the_keys_name()
    {
        const string sensor = "chem-lab2-freezer3";
        await fixture.PublishAsync("chem", "lab-2", sensor, -25.0, 9, Ct);
        var id = await fixture.WaitForAlertAsync(sensor, ConsoleFixture.FaultRule, Ct);
        using var http = NewClient();

        using var signIn = await SignInAsync(http, fixture.Technician.Key);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var session = await signIn.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("night shift", session.GetProperty("name").GetString());
        var setCookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("campus-console=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("expires=", setCookie, StringComparison.OrdinalIgnoreCase); // a session cookie: gone with the browser
        var cookie = setCookie.Split(';')[0];

        using var me = await SendAsync(http, HttpMethod.Get, "console/session", cookie, consoleHeader: false);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Contains("technician", (await me.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("roles").EnumerateArray().Select(r => r.GetString()));

        // A read with the cookie works without the header; a change without it is 401 and changes nothing.
        using var list = await SendAsync(http, HttpMethod.Get, "api/alerts", cookie, consoleHeader: false);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using var forged = await SendAsync(http, HttpMethod.Post, $"api/alerts/{id}/ack", cookie, consoleHeader: false, body: new { note = "forged" });
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Contains("X-Console", (await forged.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("active", (await fixture.ActiveAlertAsync(sensor, ConsoleFixture.FaultRule, Ct))!.Value.GetProperty("state").GetString());

        using var ack = await SendAsync(http, HttpMethod.Post, $"api/alerts/{id}/ack", cookie, consoleHeader: true, body: new { by = "somebody else", note = "compressor restarted" });
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        Assert.Equal("night shift", (await ack.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("acknowledgedBy").GetString());

        using var signOut = await SendAsync(http, HttpMethod.Post, "console/sign-out", cookie, consoleHeader: true);
        Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
    }

    [Theory]
    [InlineData("api/alerts")]
    [InlineData("console/session")]
    public async Task The_api_and_the_consoles_json_without_credentials_stay_401_not_a_redirect(string path)
    {
        using var http = NewClient();
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string? key, bool consoleHeader = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("console/sign-in", UriKind.Relative));
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "ApiKey " + key);
        }

        if (consoleHeader)
        {
            request.Headers.Add("X-Console", "1");
        }

        return await http.SendAsync(request, Ct);
    }

    static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string cookie, bool consoleHeader, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Add("Cookie", cookie);
        if (consoleHeader)
        {
            request.Headers.Add("X-Console", "1");
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await http.SendAsync(request, Ct);
    }
}

/// <summary>The console on the open loopback API (nothing of <c>Api</c> configured): no sign-in, the pages are served directly.</summary>
[Collection(OpenApiFixture.CollectionName)]
public sealed class OpenConsoleTests(OpenApiFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_open_console_serves_its_pages_without_a_sign_in_and_says_it_is_open()
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }, disposeHandler: true) { BaseAddress = fixture.Service.HttpUrl };

        using var page = await http.GetAsync(new Uri("console", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/console/assets/console.js", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        var session = await http.GetFromJsonAsync<JsonElement>(new Uri("console/session", UriKind.Relative), Ct);
        Assert.True(session.GetProperty("open").GetBoolean());

        using var signIn = await http.GetAsync(new Uri("console/sign-in", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/console", signIn.Headers.Location?.OriginalString);
    }
}

/// <summary>The open console in the browser: the name typed in is who acknowledged.</summary>
[Collection(OpenApiFixture.CollectionName)]
public sealed class OpenConsoleBrowserTests(OpenApiFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task On_the_open_api_the_console_records_the_name_typed_in_as_who_acknowledged()
    {
        const string sensor = "frz-header";
        var id = await fixture.RaiseFaultAsync(sensor, Ct);
        using var browser = Chromium.Start();
        browser.Open(new Uri(fixture.Service.HttpUrl, "console"));
        var row = await Poll.UntilAsync($"the alert of {sensor} in the open console",
            () => Task.FromResult(browser.All($"#alerts tr[data-alert-id=\"{id}\"]")), r => r.Count == 1, TimeSpan.FromSeconds(60), cancellationToken: Ct);
        Assert.Equal("", browser.Driver.FindElement(OpenQA.Selenium.By.Id("by")).GetAttribute("value"));

        // Without a name the console refuses to act and says why.
        row[0].FindElement(OpenQA.Selenium.By.CssSelector("button.ack")).Click();
        await Poll.UntilAsync("the console to ask for a name", () => Task.FromResult(browser.TextOf("#status")),
            t => t?.Contains("Type your name", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(60), cancellationToken: Ct);

        browser.Driver.FindElement(OpenQA.Selenium.By.Id("by")).SendKeys("Kim Berger");
        browser.Driver.FindElement(OpenQA.Selenium.By.CssSelector($"#alerts tr[data-alert-id=\"{id}\"] button.ack")).Click();
        await Poll.UntilAsync("the row to show Kim's acknowledgement",
            () => Task.FromResult(browser.TextOf($"#alerts tr[data-alert-id=\"{id}\"] td.state")),
            t => t?.Contains("acknowledged by Kim Berger", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(60), cancellationToken: Ct);
        var alert = await fixture.Service.Http.GetFromJsonAsync<JsonElement>(new Uri($"api/alerts/{id}", UriKind.Relative), Ct);
        Assert.Equal("Kim Berger", alert.GetProperty("acknowledgedBy").GetString());
    }
}

/// <summary>The console's sign-in with a bearer token of the local issuer (the secured fixture with JWT configured).</summary>
[Collection(ApiAuthFixture.CollectionName)]
public sealed class ConsoleTokenSignInTests(ApiAuthFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_technicians_bearer_token_signs_in_and_the_acknowledgement_carries_the_tokens_name_a_viewers_token_is_refused()
    {
        var id = await fixture.RaiseFaultAsync("frz-header", Ct);
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }, disposeHandler: true) { BaseAddress = fixture.Service.HttpUrl };

        var viewerToken = fixture.Token(new Dictionary<string, object> { ["sub"] = "77aa", ["name"] = "Wall Board", ["roles"] = new[] { "viewer" } });
        using var refused = await SignInAsync(http, viewerToken);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        var token = fixture.Token(new Dictionary<string, object> { ["sub"] = "4f1c2a", ["name"] = "Dana Fischer", ["roles"] = new[] { "technician" } });
        using var signIn = await SignInAsync(http, token);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Equal("Dana Fischer", (await signIn.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("name").GetString());
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("campus-console=", StringComparison.Ordinal)).Split(';')[0];

        using var ack = new HttpRequestMessage(HttpMethod.Post, new Uri($"api/alerts/{id}/ack", UriKind.Relative)) { Content = JsonContent.Create(new { note = "from the console" }) };
        ack.Headers.Add("Cookie", cookie);
        ack.Headers.Add("X-Console", "1");
        using var response = await http.SendAsync(ack, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Dana Fischer", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("acknowledgedBy").GetString());
    }

    static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("console/sign-in", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        request.Headers.Add("X-Console", "1");
        return await http.SendAsync(request, Ct);
    }
}
