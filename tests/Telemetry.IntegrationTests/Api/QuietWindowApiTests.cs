using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Telemetry.IntegrationTests.Security;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// <c>/api/quiet-windows</c> on the secured API: technicians set and remove windows under their own names, viewers list
/// them, invalid windows are 400 problems listing every problem.
/// </summary>
[Collection(ApiAuthFixture.CollectionName)]
public sealed class QuietWindowApiTests(ApiAuthFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient Http => fixture.Service.Http;

    [Fact]
    public async Task ATechnician_SetsAWindow_UnderTheKeysName_ViewersListIt_AndItIsRemovedOnce()
    {
        var from = DateTimeOffset.UtcNow.AddHours(1);
        var body = new
        {
            building = ApiAuthFixture.BuildingId,
            sensor = "frz-header",
            from,
            until = from.AddHours(2),
            upToSeverity = "warning",
            reason = "compressor replacement",
            by = "mallory",
        };

        using var post = ApiAuthFixture.WithKey(HttpMethod.Post, "api/quiet-windows", fixture.Technician, body);
        using var created = await Http.SendAsync(post, Ct);
        var text = await created.Content.ReadAsStringAsync(Ct);
        Assert.True(created.StatusCode == HttpStatusCode.Created, text);
        var window = JsonDocument.Parse(text).RootElement;
        var id = window.GetProperty("id").GetString()!;
        Assert.Equal($"/api/quiet-windows/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal("night shift", window.GetProperty("createdBy").GetString());
        Assert.Equal("warning", window.GetProperty("upToSeverity").GetString());
        Assert.Equal(from.ToUnixTimeMilliseconds(), window.GetProperty("from").GetDateTimeOffset().ToUnixTimeMilliseconds());

        var listed = await ListAsync();
        Assert.Contains(listed, w => w.GetProperty("id").GetString() == id && w.GetProperty("reason").GetString() == "compressor replacement");
        using (var one = ApiAuthFixture.WithKey(HttpMethod.Get, $"api/quiet-windows/{id}", fixture.Viewer))
        using (var found = await Http.SendAsync(one, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        }

        using (var byViewer = ApiAuthFixture.WithKey(HttpMethod.Delete, $"api/quiet-windows/{id}", fixture.Viewer))
        using (var refused = await Http.SendAsync(byViewer, Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var delete = ApiAuthFixture.WithKey(HttpMethod.Delete, $"api/quiet-windows/{id}", fixture.Technician))
        using (var removed = await Http.SendAsync(delete, Ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        using (var again = ApiAuthFixture.WithKey(HttpMethod.Delete, $"api/quiet-windows/{id}", fixture.Technician))
        using (var gone = await Http.SendAsync(again, Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Equal("application/problem+json", gone.Content.Headers.ContentType?.MediaType);
        }

        Assert.DoesNotContain(await ListAsync(), w => w.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task InvalidWindows_Are400_ListingEveryProblem_AndNothingIsStored()
    {
        var before = (await ListAsync()).Count;
        var now = DateTimeOffset.UtcNow;
        (object Body, string[] Expected)[] cases =
        [
            (new { from = now.AddHours(2), until = now.AddHours(1), reason = "r" }, ["until must be after from"]),
            (new { reason = "r" }, ["needs an end"]),
            (new { schedule = "weekdays 22-6", reason = "r" }, ["schedule:"]),
            (new { schedule = "daily 12:00-13:00", reason = " " }, ["reason"]),
            (new { schedule = "daily 12:00-13:00", reason = "r", upToSeverity = "severe" }, ["upToSeverity must be one of info, warning, critical"]),
            (new { building = "nowhere", sensor = "no-such-freezer", until = now.AddHours(1), reason = "r" },
                ["building 'nowhere' is not in the campus registry", "sensor 'no-such-freezer' is not in the campus registry"]),
            (new { building = " ", until = now.AddHours(1), reason = "" }, ["building must not be blank", "reason"]),
        ];
        foreach (var (body, expected) in cases)
        {
            using var request = ApiAuthFixture.WithKey(HttpMethod.Post, "api/quiet-windows", fixture.Technician, body);
            using var response = await Http.SendAsync(request, Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)}: {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problems = JsonDocument.Parse(text).RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();
            Assert.Equal(expected.Length, problems.Count);
            foreach (var e in expected)
            {
                Assert.True(problems.Any(p => p.Contains(e, StringComparison.Ordinal)), $"'{e}' not among: {string.Join(" | ", problems)}");
            }
        }

        Assert.Equal(before, (await ListAsync()).Count);
    }

    [Fact]
    public async Task TheList_PagesThroughLink_InOrderOfStart()
    {
        var start = DateTimeOffset.UtcNow.AddDays(3);
        List<string> ids = [];
        for (var i = 0; i < 3; i++)
        {
            using var request = ApiAuthFixture.WithKey(HttpMethod.Post, "api/quiet-windows", fixture.Technician,
                new { from = start.AddHours(i), until = start.AddHours(i + 1), reason = $"page {i}" });
            using var response = await Http.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!);
        }

        List<string> seen = [];
        string? next = "api/quiet-windows?limit=1";
        while (next is not null)
        {
            Assert.True(seen.Count < 100, "the Link header loops");
            using var request = ApiAuthFixture.WithKey(HttpMethod.Get, next, fixture.Viewer);
            using var response = await Http.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            seen.AddRange((await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).EnumerateArray().Select(w => w.GetProperty("id").GetString()!));
            next = response.Headers.TryGetValues("Link", out var links)
                ? Assert.Single(links).Split('>')[0].TrimStart('<', '/')
                : null;
        }

        Assert.Equal(ids, seen.Where(ids.Contains));
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        foreach (var id in ids)
        {
            using var delete = ApiAuthFixture.WithKey(HttpMethod.Delete, $"api/quiet-windows/{id}", fixture.Technician);
            using var removed = await Http.SendAsync(delete, Ct);
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }
    }

    async Task<List<JsonElement>> ListAsync()
    {
        using var request = ApiAuthFixture.WithKey(HttpMethod.Get, "api/quiet-windows?limit=1000", fixture.Viewer);
        using var response = await Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).EnumerateArray().Select(e => e.Clone())];
    }
}

/// <summary>The open loopback API takes the setter's name from the body's <c>by</c>, which it then requires.</summary>
[Collection(OpenApiFixture.CollectionName)]
public sealed class OpenQuietWindowApiTests(OpenApiFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AWindow_IsRecordedUnderTheBodysBy_WhichIsRequired()
    {
        var body = new { sensor = "frz-open-window", schedule = "mon-fri 22:00-06:00", reason = "night shift quiet hours" };
        using var without = await fixture.Service.Http.PostAsJsonAsync("api/quiet-windows", body, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, without.StatusCode);
        Assert.Contains("'by'", (await without.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var with = await fixture.Service.Http.PostAsJsonAsync("api/quiet-windows", new { body.sensor, body.schedule, body.reason, by = "facilities desk" }, Ct);
        Assert.Equal(HttpStatusCode.Created, with.StatusCode);
        var window = await with.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("facilities desk", window.GetProperty("createdBy").GetString());
        Assert.Equal("critical", window.GetProperty("upToSeverity").GetString());
        Assert.Equal(JsonValueKind.Null, window.GetProperty("until").ValueKind);

        using var removed = await fixture.Service.Http.DeleteAsync(new Uri($"api/quiet-windows/{window.GetProperty("id").GetString()}", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
    }
}
