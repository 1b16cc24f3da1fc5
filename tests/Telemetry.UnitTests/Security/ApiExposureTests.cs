using Microsoft.Extensions.Configuration;
using Telemetry.Service.Security;

namespace Telemetry.UnitTests.Security;

/// <summary>The start rule: open only on loopback; off loopback only with authentication.</summary>
public sealed class ApiExposureTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://127.0.0.1:8080/", true)]
    [InlineData("http://127.1.2.3:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("https://LOCALHOST", true)]
    [InlineData("http://[::1]:8080", true)]
    [InlineData("http://unix:/run/campus/api.sock", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://192.168.1.10:8080", false)]
    [InlineData("http://campus.example.edu:8080", false)]
    [InlineData("http://localhost.example.edu:8080", false)]
    [InlineData("http://[::ffff:10.0.0.1]:8080", false)]
    [InlineData("127.0.0.1:8080", false)]
    public void IsLoopback(string url, bool loopback) => Assert.Equal(loopback, ApiExposure.IsLoopback(url));

    [Fact]
    public void OnLoopback_WithNothingConfigured_TheApiMayStayOpen()
    {
        var listeners = ApiExposure.Listeners(Configuration(("Urls", "http://127.0.0.1:8080;http://[::1]:8080")));

        Assert.Null(ApiExposure.Refusal(listeners, authenticationConfigured: false));
    }

    [Fact]
    public void OffLoopback_WithoutAuthentication_TheStartIsRefused_SayingWhatToConfigure()
    {
        var listeners = ApiExposure.Listeners(Configuration(("Urls", "http://127.0.0.1:8080;http://0.0.0.0:9090")));

        var refusal = ApiExposure.Refusal(listeners, authenticationConfigured: false);

        Assert.NotNull(refusal);
        Assert.Contains("http://0.0.0.0:9090 (Urls)", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1:8080 (Urls)", refusal, StringComparison.Ordinal);
        Assert.Contains("Api:Keys", refusal, StringComparison.Ordinal);
        Assert.Contains("api-key new", refusal, StringComparison.Ordinal);
        Assert.Contains("Api:Jwt:Authority", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void OffLoopback_WithAuthentication_TheServiceStarts()
    {
        var listeners = ApiExposure.Listeners(Configuration(("Urls", "http://0.0.0.0:8080")));

        Assert.Null(ApiExposure.Refusal(listeners, authenticationConfigured: true));
    }

    [Fact]
    public void EveryKestrelEndpoint_IsChecked_NotOnlyUrls()
    {
        var listeners = ApiExposure.Listeners(Configuration(
            ("Urls", "http://127.0.0.1:8080"),
            ("Kestrel:Endpoints:Http:Url", "http://127.0.0.1:8080"),
            ("Kestrel:Endpoints:Https:Url", "https://0.0.0.0:8443")));

        var refusal = ApiExposure.Refusal(listeners, authenticationConfigured: false);

        Assert.Contains("https://0.0.0.0:8443 (Kestrel:Endpoints:Https:Url)", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void HttpPorts_BindEveryInterface_SoTheyNeedAuthentication()
    {
        var listeners = ApiExposure.Listeners(Configuration(("HTTP_PORTS", "8080"), ("https_ports", "8443")));

        Assert.Equal(["http://*:8080", "https://*:8443"], listeners.Select(l => l.Url));
        Assert.NotNull(ApiExposure.Refusal(listeners, authenticationConfigured: false));
    }

    [Fact]
    public void PlainHttpOffLoopback_IsWhatCarriesCredentialsInClear()
    {
        var listeners = ApiExposure.Listeners(Configuration(
            ("Urls", "http://127.0.0.1:8080;http://0.0.0.0:8081;https://0.0.0.0:8443"),
            ("Kestrel:Endpoints:Lan:Url", "http://10.1.2.3:9000")));

        Assert.Equal(["http://0.0.0.0:8081", "http://10.1.2.3:9000"], ApiExposure.PlainHttpOffLoopback(listeners).Select(l => l.Url));
    }

    [Fact]
    public void NothingConfigured_IsKestrelsDefault_Localhost()
    {
        var listeners = ApiExposure.Listeners(Configuration());

        Assert.Equal("http://localhost:5000", Assert.Single(listeners).Url);
        Assert.Null(ApiExposure.Refusal(listeners, authenticationConfigured: false));
    }

    [Fact]
    public void AKeyOrJwt_CountsAsAuthentication_AnEmptySectionDoesNot()
    {
        var none = new ApiOptions();
        var key = new ApiOptions();
        key.Keys.Add(new ApiKeyOptions { Name = "a", Role = ApiRoles.Viewer, Hash = ApiKeys.Create("a", ApiRoles.Viewer).Hash });
        var jwt = new ApiOptions { Jwt = { Authority = "https://login.example.edu/realms/campus", Audience = "campus" } };

        Assert.False(ApiSettings.AuthenticationConfigured(none));
        Assert.True(ApiSettings.AuthenticationConfigured(key));
        Assert.True(ApiSettings.AuthenticationConfigured(jwt));
    }

    static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
