using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Tests.Polling;
using Telemetry.Service.Hosting;
using Telemetry.Service.Security;

namespace Telemetry.IntegrationTests.Security;

/// <summary>
/// The HTTP API with authentication configured, through real Kestrel on loopback: who may do what, who is recorded
/// as having done it, the answers when not allowed, bearer tokens, HTTPS, and the refusal to start exposed.
/// </summary>
[Collection(ApiAuthFixture.CollectionName)]
public sealed class ApiAuthenticationTests(ApiAuthFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient Http => fixture.Service.Http;

    static readonly (HttpMethod Method, string Path)[] Protected =
    [
        (HttpMethod.Get, "api/alerts"),
        (HttpMethod.Get, "api/alerts?state=recent"),
        (HttpMethod.Get, "api/alerts/outbox"),
        (HttpMethod.Get, "api/buildings"),
        (HttpMethod.Get, $"api/buildings/{ApiAuthFixture.BuildingId}"),
        (HttpMethod.Get, $"api/rooms/{ApiAuthFixture.BuildingId}/{ApiAuthFixture.RoomId}"),
        (HttpMethod.Get, "api/sensors/frz-viewer"),
        (HttpMethod.Get, "api/refusals"),
        (HttpMethod.Post, "api/alerts/frz-viewer/freezer-fault/1/ack"),
        (HttpMethod.Post, "api/alerts/frz-viewer/freezer-fault/1/clear"),
        (HttpMethod.Post, "api/registry/reload"),
        (HttpMethod.Get, "api/cluster"),
        (HttpMethod.Get, "api/reports/energy?from=2026-11-01&to=2026-11-30&by=building&period=month"),
        (HttpMethod.Get, "api/not-an-endpoint"),
    ];

    [Fact]
    public async Task WithoutCredentials_EveryApiEndpoint_Is401_AsProblemJson_NamingHowToAuthenticate()
    {
        foreach (var (method, path) in Protected)
        {
            using var request = ApiAuthFixture.WithKey(method, path, key: null, body: method == HttpMethod.Post ? new { by = "mallory" } : null);
            using var response = await Http.SendAsync(request, Ct);

            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal(401, problem.GetProperty("status").GetInt32());
            Assert.Contains("X-Api-Key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            var challenges = response.Headers.WwwAuthenticate.Select(h => h.Scheme).ToList();
            Assert.Contains("ApiKey", challenges);
            Assert.Contains("Bearer", challenges);
        }
    }

    [Fact]
    public async Task HealthAndMetrics_StayAnonymous()
    {
        using var live = await Http.GetAsync(new Uri("health/live", UriKind.Relative), Ct);
        using var ready = await Http.GetAsync(new Uri("health/ready", UriKind.Relative), Ct);
        using var metrics = await Http.GetAsync(new Uri("metrics", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task AnUnknownKey_Is401_AndCountedByReason()
    {
        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, "api/alerts", ApiKeys.Create("stranger", ApiRoles.Admin));
        using var response = await Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("API key", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        // The Prometheus page is cached for a moment by the exporter: poll until it shows the refusal.
        await Poll.UntilAsync("the unknown key to be counted as invalid_api_key on /metrics",
            async () => PrometheusText.Sum(await Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct), "telemetry_api_requests_refused_total", "reason=\"invalid_api_key\""),
            n => n >= 1, cancellationToken: Ct);
    }

    [Fact]
    public async Task AViewerKey_Reads_ButAcknowledgingIs403_AndTheAlertStaysUnacknowledged()
    {
        var id = await fixture.RaiseFaultAsync("frz-viewer", Ct);

        foreach (var (method, path) in Protected.Where(p => p.Method == HttpMethod.Get && !p.Path.Contains("not-an", StringComparison.Ordinal) && !p.Path.Contains("sensors", StringComparison.Ordinal)))
        {
            using var read = ApiAuthFixture.WithKey(method, path, fixture.Viewer);
            using var answer = await Http.SendAsync(read, Ct);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)answer.StatusCode}");
        }

        using var ack = ApiAuthFixture.WithKey(HttpMethod.Post, $"api/alerts/{id}/ack", fixture.Viewer, new { by = "wallboard" });
        using var response = await Http.SendAsync(ack, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("wallboard", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var alert = await GetAlertAsync(id);
        Assert.Equal(JsonValueKind.Null, alert.GetProperty("acknowledgedBy").ValueKind);
    }

    [Fact]
    public async Task ATechnicianKey_Acknowledges_UnderTheKeysName_NotTheBodys()
    {
        var id = await fixture.RaiseFaultAsync("frz-key-ack", Ct);

        using var ack = ApiAuthFixture.WithKey(HttpMethod.Post, $"api/alerts/{id}/ack", fixture.Technician, new { by = "somebody else", note = "on my way" });
        using var response = await Http.SendAsync(ack, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("night shift", body.GetProperty("acknowledgedBy").GetString());
        Assert.Equal("night shift", (await GetAlertAsync(id)).GetProperty("acknowledgedBy").GetString());
    }

    [Fact]
    public async Task ATechnicianKey_InTheAuthorizationHeader_ClearsWithoutABody_UnderTheKeysName()
    {
        var id = await fixture.RaiseFaultAsync("frz-key-clear", Ct);

        using var clear = ApiAuthFixture.WithKey(HttpMethod.Post, $"api/alerts/{id}/clear", fixture.Technician, authorizationHeader: true);
        using var response = await Http.SendAsync(clear, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("night shift", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("clearedBy").GetString());
    }

    [Fact]
    public async Task TheAdminKey_ReloadsTheRegistry_ATechnicianMayNot()
    {
        var before = await File.ReadAllTextAsync(fixture.RegistryPath, Ct);
        await File.WriteAllTextAsync(fixture.RegistryPath, ApiAuthFixture.Registry([.. ApiAuthFixture.Freezers, "frz-added"]), Ct);
        try
        {
            using var refused = ApiAuthFixture.WithKey(HttpMethod.Post, "api/registry/reload", fixture.Technician);
            using var forbidden = await Http.SendAsync(refused, Ct);
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);

            using var reload = ApiAuthFixture.WithKey(HttpMethod.Post, "api/registry/reload", fixture.Admin);
            using var response = await Http.SendAsync(reload, Ct);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            // "reloaded", or "unchanged" when the file watcher was quicker: either way the new registry is in force.
            Assert.Contains(body.GetProperty("outcome").GetString(), new[] { "reloaded", "unchanged" });
            Assert.Equal(ApiAuthFixture.Freezers.Length + 1, body.GetProperty("inForce").GetProperty("sensors").GetInt32());
        }
        finally
        {
            await File.WriteAllTextAsync(fixture.RegistryPath, before, Ct);
            using var restore = ApiAuthFixture.WithKey(HttpMethod.Post, "api/registry/reload", fixture.Admin);
            using var _ = await Http.SendAsync(restore, Ct);
        }
    }

    [Fact]
    public async Task AnInvalidRegistry_ReloadIs422_NamingTheErrors_AndThePreviousStaysInForce()
    {
        var before = await File.ReadAllTextAsync(fixture.RegistryPath, Ct);
        await File.WriteAllTextAsync(fixture.RegistryPath, before.Replace("kind: freezer", "kind: fridge", StringComparison.Ordinal), Ct);
        try
        {
            using var reload = ApiAuthFixture.WithKey(HttpMethod.Post, "api/registry/reload", fixture.Admin);
            using var response = await Http.SendAsync(reload, Ct);

            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains("fridge", StringComparison.Ordinal));
            Assert.Equal(ApiAuthFixture.Freezers.Length, problem.GetProperty("inForce").GetProperty("sensors").GetInt32());
        }
        finally
        {
            await File.WriteAllTextAsync(fixture.RegistryPath, before, Ct);
            using var restore = ApiAuthFixture.WithKey(HttpMethod.Post, "api/registry/reload", fixture.Admin);
            using var _ = await Http.SendAsync(restore, Ct);
        }
    }

    [Fact]
    public async Task ABearerTokenWithTheTechnicianRole_Acknowledges_UnderTheTokensName()
    {
        var id = await fixture.RaiseFaultAsync("frz-jwt-ack", Ct);
        var token = fixture.Token(new Dictionary<string, object>
        {
            ["sub"] = "4f1c2a",
            ["name"] = "Dana Fischer",
            ["preferred_username"] = "dfischer",
            ["roles"] = new[] { "technician" },
        });

        using var ack = new HttpRequestMessage(HttpMethod.Post, new Uri($"api/alerts/{id}/ack", UriKind.Relative)) { Content = JsonContent.Create(new { by = "not me" }) };
        ack.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(ack, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Dana Fischer", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("acknowledgedBy").GetString());
    }

    [Fact]
    public async Task ABearerTokenWithTheViewerRole_Reads_ButMayNotClear()
    {
        var token = fixture.Token(new Dictionary<string, object> { ["sub"] = "viewer-1", ["roles"] = "viewer" });

        Assert.Equal(HttpStatusCode.OK, await SendBearerAsync(HttpMethod.Get, "api/alerts", token));
        Assert.Equal(HttpStatusCode.Forbidden, await SendBearerAsync(HttpMethod.Post, "api/alerts/frz-viewer/freezer-fault/1/clear", token));
    }

    [Fact]
    public async Task AnExpired_WronglySigned_ForeignAudience_OrRoleless_Token_IsRefused()
    {
        using var stranger = RSA.Create(2048);
        Dictionary<string, object> technician = new() { ["sub"] = "t-1", ["name"] = "Mallory", ["roles"] = new[] { "technician" } };

        Assert.Equal(HttpStatusCode.Unauthorized, await SendBearerAsync(HttpMethod.Get, "api/alerts", fixture.Token(technician, expires: DateTime.UtcNow.AddHours(-1))));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendBearerAsync(HttpMethod.Get, "api/alerts", fixture.Token(technician, signWith: stranger)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendBearerAsync(HttpMethod.Get, "api/alerts", fixture.Token(technician, audience: "some-other-app")));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendBearerAsync(HttpMethod.Get, "api/alerts", "not.a.token"));
        // Signed and valid, but naming nobody: what it did could not be recorded under a name.
        Assert.Equal(HttpStatusCode.Unauthorized, await SendBearerAsync(HttpMethod.Get, "api/alerts", fixture.Token(new Dictionary<string, object> { ["roles"] = "viewer" })));
        // Signed and valid, but with no role of this service: authenticated, allowed nothing.
        Assert.Equal(HttpStatusCode.Forbidden, await SendBearerAsync(HttpMethod.Get, "api/alerts", fixture.Token(new Dictionary<string, object> { ["sub"] = "x", ["roles"] = "operator" })));
    }

    [Fact]
    public async Task Https_ThroughKestrelsCertificateConfiguration_Answers()
    {
        using var https = fixture.HttpsClient();
        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, "api/alerts", fixture.Viewer);

        using var response = await https.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.Array, (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).ValueKind);
    }

    [Fact]
    public void BuildingTheServiceOffLoopback_WithoutAuthentication_Throws_SayingWhatToConfigure()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TelemetryApp.Build(["--Urls=http://0.0.0.0:18080"]));

        Assert.Contains("http://0.0.0.0:18080 (Urls)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Api:Keys", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServiceProcess_OffLoopbackWithoutAuthentication_ExitsAtStart_WithAFatalLine()
    {
        var start = new ProcessStartInfo(ServiceProcess.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Telemetry.Service.dll"));
        start.ArgumentList.Add($"--Kestrel:Endpoints:Public:Url=http://0.0.0.0:{FreePort.Get()}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 1, output);
        Assert.Contains("FTL", output, StringComparison.Ordinal);
        Assert.Contains("(Kestrel:Endpoints:Public:Url), which is not a loopback address", output, StringComparison.Ordinal);
    }

    async Task<JsonElement> GetAlertAsync(string id)
    {
        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, $"api/alerts/{id}", fixture.Viewer);
        using var response = await Http.SendAsync(request, Ct);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    async Task<HttpStatusCode> SendBearerAsync(HttpMethod method, string path, string token)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request, Ct);
        return response.StatusCode;
    }
}
