using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Telemetry.IntegrationTests.Security;

/// <summary>
/// On loopback with nothing configured the API stays open, as the demo and the older tests use it: no credentials
/// needed, and acknowledgements take the name from the body's <c>by</c>, which is then required.
/// </summary>
[Collection(OpenApiFixture.CollectionName)]
public sealed class OpenApiTests(OpenApiFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient Http => fixture.Service.Http;

    [Fact]
    public async Task WithoutCredentials_EveryEndpointAnswers_IncludingTheAdminOnes()
    {
        foreach (var path in new[] { "api/alerts", "api/buildings", "api/refusals", "health/ready", "metrics" })
        {
            using var response = await Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode}");
        }

        using var reload = await Http.PostAsync(new Uri("api/registry/reload", UriKind.Relative), content: null, Ct);
        Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        Assert.Equal("unchanged", (await reload.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task AnAcknowledgement_IsRecordedUnderTheBodysBy_WhichIsRequired()
    {
        var id = await fixture.RaiseFaultAsync("frz-key-ack", Ct);

        using var without = await Http.PostAsJsonAsync($"api/alerts/{id}/ack", new { note = "no name" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, without.StatusCode);

        // A key sent to the open API changes nothing: there is no caller to take a name from.
        using var request = ApiAuthFixture.WithKey(HttpMethod.Post, $"api/alerts/{id}/ack", fixture.Technician, new { by = "technician on call" });
        using var response = await Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("technician on call", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("acknowledgedBy").GetString());
    }

    [Fact]
    public async Task AClear_WithoutBy_Is400()
    {
        var id = await fixture.RaiseFaultAsync("frz-key-clear", Ct);

        using var response = await Http.PostAsync(new Uri($"api/alerts/{id}/clear", UriKind.Relative), content: null, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'by'", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
