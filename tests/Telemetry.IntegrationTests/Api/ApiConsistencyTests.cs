using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Telemetry.IntegrationTests.Security;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// The secured HTTP API through real Kestrel on loopback: every error is problem+json, the OpenAPI document describes
/// every mapped <c>/api</c> endpoint, list endpoints page with <c>limit</c>/<c>after</c> and a <c>Link</c> header,
/// and <c>GET /api/sensors</c> filters the registry's sensors.
/// </summary>
[Collection(ApiAuthFixture.CollectionName)]
public sealed partial class ApiConsistencyTests(ApiAuthFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient Http => fixture.Service.Http;

    [Fact]
    public async Task EveryError_IsProblemJson_WithTypeTitleAndStatus()
    {
        (string What, HttpRequestMessage Request, HttpStatusCode Status)[] cases =
        [
            ("unknown route", ApiAuthFixture.WithKey(HttpMethod.Get, "api/not-an-endpoint", fixture.Admin), HttpStatusCode.NotFound),
            ("wrong method", ApiAuthFixture.WithKey(HttpMethod.Delete, "api/buildings", fixture.Admin), HttpStatusCode.MethodNotAllowed),
            ("malformed JSON", Malformed(), HttpStatusCode.BadRequest),
            ("no credentials", ApiAuthFixture.WithKey(HttpMethod.Get, "api/sensors", key: null), HttpStatusCode.Unauthorized),
            ("viewer sets a window", ApiAuthFixture.WithKey(HttpMethod.Post, "api/quiet-windows", fixture.Viewer, new { reason = "x", schedule = "daily 12:00-13:00" }), HttpStatusCode.Forbidden),
            ("bad limit", ApiAuthFixture.WithKey(HttpMethod.Get, "api/sensors?limit=1001", fixture.Viewer), HttpStatusCode.BadRequest),
            ("unreadable query", ApiAuthFixture.WithKey(HttpMethod.Get, "api/alerts?state=recent&max=abc", fixture.Viewer), HttpStatusCode.BadRequest),
            ("no body", ApiAuthFixture.WithKey(HttpMethod.Post, "api/quiet-windows", fixture.Technician), HttpStatusCode.BadRequest),
        ];
        foreach (var (what, request, status) in cases)
        {
            using (request)
            {
                using var response = await Http.SendAsync(request, Ct);
                var body = await response.Content.ReadAsStringAsync(Ct);
                Assert.True(response.StatusCode == status, $"{what}: {(int)response.StatusCode} {body}");
                Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{what}: {response.Content.Headers.ContentType} {body}");
                var problem = JsonDocument.Parse(body).RootElement;
                Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
                Assert.False(string.IsNullOrEmpty(problem.GetProperty("type").GetString()), $"{what}: {body}");
                Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()), $"{what}: {body}");
                var expected = what switch { "malformed JSON" => "not JSON", "unreadable query" => "max", "no body" => "no body", _ => null };
                if (expected is not null)
                {
                    Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                }
            }
        }

        HttpRequestMessage Malformed()
        {
            var request = ApiAuthFixture.WithKey(HttpMethod.Post, "api/quiet-windows", fixture.Technician);
            request.Content = new StringContent("{\"reason\": \"half a body", Encoding.UTF8, "application/json");
            return request;
        }
    }

    [Fact]
    public async Task TheOpenApiDocument_DescribesEveryMappedApiEndpoint_AndTheSecuritySchemes_ForViewers()
    {
        using (var anonymous = ApiAuthFixture.WithKey(HttpMethod.Get, "openapi/v1.json", key: null))
        using (var refused = await Http.SendAsync(anonymous, Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, "openapi/v1.json", fixture.Viewer);
        using var response = await Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.GetProperty("paths");

        var mapped = fixture.Service.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Path: Normalised(e.RoutePattern.RawText!), Method: m.ToLowerInvariant())))
            .ToList();
        Assert.Contains(mapped, m => m.Path == "/api/sensors" && m.Method == "get");
        Assert.Contains(mapped, m => m.Path == "/api/quiet-windows" && m.Method == "post");
        foreach (var (path, method) in mapped)
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is mapped but not in the OpenAPI document");
            Assert.True(item.TryGetProperty(method, out var operation), $"{method.ToUpperInvariant()} {path} is mapped but not in the OpenAPI document");
            Assert.Contains("Role: ", operation.GetProperty("description").GetString(), StringComparison.Ordinal);
        }

        Assert.Contains("Role: technician", paths.GetProperty("/api/quiet-windows").GetProperty("post").GetProperty("description").GetString(), StringComparison.Ordinal);
        var parameters = paths.GetProperty("/api/sensors").GetProperty("get").GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(["building", "room", "kind", "online", "limit", "after"], parameters);
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("X-Api-Key", schemes.GetProperty("ApiKey").GetProperty("name").GetString());
        Assert.Equal("bearer", schemes.GetProperty("Bearer").GetProperty("scheme").GetString());
    }

    /// <summary>A route pattern as OpenAPI writes it: parameters without their constraints.</summary>
    static string Normalised(string pattern) => RouteParameter().Replace(pattern, "{$1}");

    [GeneratedRegex(@"\{([A-Za-z0-9_]+)(:[^}]*)?\}")]
    private static partial Regex RouteParameter();

    [Fact]
    public async Task Sensors_AreTheRegistrysById_PagedThroughLink_AndFiltered()
    {
        var all = await GetArrayAsync("api/sensors?limit=1000");
        var ids = all.Select(s => s.GetProperty("sensor").GetString()!).ToList();
        Assert.Superset(ApiAuthFixture.Freezers.ToHashSet(), ids.ToHashSet());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.All(all, s => Assert.Equal(ApiAuthFixture.BuildingId, s.GetProperty("building").GetString()));

        var paged = await FollowAsync("api/sensors?limit=2&kind=freezer");
        Assert.Equal(ids, paged.Items.Select(s => s.GetProperty("sensor").GetString()!));
        Assert.Equal((ids.Count + 1) / 2, paged.Pages);

        Assert.Equal(ids, (await GetArrayAsync($"api/sensors?building={ApiAuthFixture.BuildingId}&room={ApiAuthFixture.RoomId}")).Select(s => s.GetProperty("sensor").GetString()));
        foreach (var unknown in new[] { "api/sensors?building=nowhere", $"api/sensors?building={ApiAuthFixture.BuildingId}&room=attic", "api/sensors?kind=toaster" })
        {
            using var request = ApiAuthFixture.WithKey(HttpMethod.Get, unknown, fixture.Viewer);
            using var response = await Http.SendAsync(request, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{unknown}: {(int)response.StatusCode}");
        }

        foreach (var bad in new[] { "api/sensors?limit=0", "api/sensors?limit=ten", "api/sensors?after=not-a-cursor!", "api/sensors?online=maybe" })
        {
            using var request = ApiAuthFixture.WithKey(HttpMethod.Get, bad, fixture.Viewer);
            using var response = await Http.SendAsync(request, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{bad}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task Sensors_FilteredByOnline_FollowWhatTheSensorsReport()
    {
        await fixture.RaiseFaultAsync("frz-online", Ct);

        var online = await Poll.UntilAsync("frz-online to be listed online",
            async () => (await GetArrayAsync("api/sensors?online=true")).Select(s => s.GetProperty("sensor").GetString()).ToList(),
            list => list.Contains("frz-online"), within: TimeSpan.FromSeconds(60), cancellationToken: Ct);
        var offline = (await GetArrayAsync("api/sensors?online=false")).Select(s => s.GetProperty("sensor").GetString()).ToList();

        Assert.DoesNotContain("frz-online", offline);
        var all = (await GetArrayAsync("api/sensors?limit=1000")).Select(s => s.GetProperty("sensor").GetString()).ToHashSet();
        Assert.Equal(all, online.Concat(offline).ToHashSet());
        var item = (await GetArrayAsync("api/sensors?limit=1000")).Single(s => s.GetProperty("sensor").GetString() == "frz-online");
        Assert.True(item.GetProperty("online").GetBoolean());
        Assert.Equal("freezer", item.GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.String, item.GetProperty("lastSeenAt").ValueKind);
    }

    [Fact]
    public async Task Alerts_ActiveAndRecent_PageThroughLink_AndTheOldMaxStillLimits()
    {
        var a = await fixture.RaiseFaultAsync("frz-page-a", Ct);
        var b = await fixture.RaiseFaultAsync("frz-page-b", Ct);

        var whole = (await GetArrayAsync("api/alerts?limit=1000")).Select(x => x.GetProperty("id").GetString()!).ToList();
        Assert.Contains(a, whole);
        Assert.Contains(b, whole);
        var paged = await FollowAsync("api/alerts?limit=1");
        Assert.Equal(whole, paged.Items.Select(x => x.GetProperty("id").GetString()!));
        Assert.Equal(whole.Count, paged.Pages);

        foreach (var id in new[] { a, b })
        {
            using var clear = ApiAuthFixture.WithKey(HttpMethod.Post, $"api/alerts/{id}/clear", fixture.Technician);
            using var cleared = await Http.SendAsync(clear, Ct);
            Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        }

        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, "api/alerts?state=recent&max=1", fixture.Viewer);
        using var response = await Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var first = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(b, Assert.Single(first.EnumerateArray()).GetProperty("id").GetString());
        var next = Assert.Single(response.Headers.GetValues("Link"));
        Assert.Contains("rel=\"next\"", next, StringComparison.Ordinal);

        var recent = await FollowAsync("api/alerts?state=recent&limit=1");
        var recentIds = recent.Items.Select(x => x.GetProperty("id").GetString()!).ToList();
        Assert.True(recentIds.IndexOf(b) < recentIds.IndexOf(a) && recentIds.IndexOf(b) >= 0, string.Join(", ", recentIds));
        Assert.Equal(recentIds.Distinct().Count(), recentIds.Count);
    }

    [Fact]
    public async Task Refusals_KeepTheirShape_WithRecentPaged()
    {
        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, "api/refusals?limit=5", fixture.Viewer);
        using var response = await Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(JsonValueKind.Object, body.GetProperty("totals").ValueKind);
        Assert.True(body.GetProperty("recent").GetArrayLength() <= 5);
    }

    async Task<List<JsonElement>> GetArrayAsync(string path)
    {
        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, path, fixture.Viewer);
        using var response = await Http.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return [.. JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>Every page from <paramref name="path"/> on, following <c>Link: &lt;…&gt;; rel="next"</c>.</summary>
    async Task<(List<JsonElement> Items, int Pages)> FollowAsync(string path)
    {
        List<JsonElement> items = [];
        var pages = 0;
        string? next = path;
        while (next is not null)
        {
            Assert.True(++pages <= 100, "more than 100 pages: the Link header loops");
            using var request = ApiAuthFixture.WithKey(HttpMethod.Get, next, fixture.Viewer);
            using var response = await Http.SendAsync(request, Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {next}: {(int)response.StatusCode} {body}");
            items.AddRange(JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone()));
            next = null;
            if (response.Headers.TryGetValues("Link", out var links))
            {
                var match = LinkNext().Match(Assert.Single(links));
                Assert.True(match.Success, $"Link header: {string.Join(", ", links)}");
                next = match.Groups[1].Value.TrimStart('/');
            }
        }

        return (items, pages);
    }

    [GeneratedRegex("^<([^>]+)>; rel=\"next\"$")]
    private static partial Regex LinkNext();
}
