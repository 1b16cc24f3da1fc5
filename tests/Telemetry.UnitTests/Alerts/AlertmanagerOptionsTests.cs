using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Service.Alerts;

namespace Telemetry.UnitTests.Alerts;

/// <summary>The one check of <c>Alerts:Alertmanager</c> (<see cref="AlertmanagerOptions.Problems"/>) and of <c>Alerts:ConsoleUrl</c> with the links made from it.</summary>
public class AlertmanagerOptionsTests
{
    [Fact]
    public void The_defaults_and_an_unset_Url_are_valid()
    {
        var options = new AlertmanagerOptions();
        Assert.Empty(options.Problems());
        Assert.False(AlertmanagerOptions.IsSet(options.Url));
        Assert.False(AlertmanagerOptions.IsSet("  "));
        Assert.Equal(TimeSpan.FromSeconds(60), options.RefreshInterval);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9093", null)]
    [InlineData("https://alertmanager.campus.example/am/", null)]
    [InlineData("alertmanager:9093", "Url must be an absolute http or https URL")]
    [InlineData("/api/v2", "Url must be an absolute http or https URL")]
    [InlineData("ftp://alertmanager", "Url must be an absolute http or https URL")]
    [InlineData("http://admin:secret@alertmanager:9093", "Url must not hold credentials")]
    [InlineData("http://alertmanager:9093/?x=1", "without a query or fragment")]
    public void Url_must_be_a_plain_http_base_url(string url, string? problem) =>
        AssertProblem(new AlertmanagerOptions { Url = url }, problem);

    public static TheoryData<string, AlertmanagerOptions, string?> Cases => new()
    {
        { "refresh too short", new AlertmanagerOptions { RefreshInterval = TimeSpan.FromMilliseconds(500) }, "RefreshInterval must be at least 1 s" },
        { "refresh 1 s", new AlertmanagerOptions { RefreshInterval = TimeSpan.FromSeconds(1) }, null },
        { "no timeout", new AlertmanagerOptions { Timeout = TimeSpan.Zero }, "Timeout must be longer than zero" },
        { "severity 7", new AlertmanagerOptions { MinSeverity = (AlertSeverity)7 }, "MinSeverity must be Info, Warning or Critical" },
        { "password alone", new AlertmanagerOptions { Password = "p" }, "Password is set without" },
        { "basic and bearer", new AlertmanagerOptions { Username = "u", Password = "p", BearerToken = "t" }, "either Username/Password or BearerToken" },
        { "colon in user", new AlertmanagerOptions { Username = "a:b", Password = "p" }, "must not contain ':'" },
        { "basic", new AlertmanagerOptions { Username = "u", Password = "p" }, null },
        { "bearer", new AlertmanagerOptions { BearerToken = "t" }, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_key_is_checked(string name, AlertmanagerOptions options, string? problem)
    {
        Assert.NotNull(name);
        AssertProblem(options, problem);
    }

    [Theory]
    [InlineData(null, "http://127.0.0.1:8080", "http://127.0.0.1:8080/console/alerts/s1/hot/1")]
    [InlineData("https://telemetry.campus.example/ops", "http://127.0.0.1:8080", "https://telemetry.campus.example/ops/console/alerts/s1/hot/1")]
    [InlineData(null, "http://*:8080", "http://127.0.0.1:8080/console/alerts/s1/hot/1")]
    [InlineData(null, "http://0.0.0.0:8080;https://0.0.0.0:8443", "http://127.0.0.1:8080/console/alerts/s1/hot/1")]
    [InlineData(null, "http://127.0.0.1:0", null)]
    [InlineData("https://t.example", "http://127.0.0.1:8080", "https://t.example/console/alerts/s1/hot/1")]
    public void Console_links_use_ConsoleUrl_or_the_first_listener(string? consoleUrl, string urls, string? expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Urls"] = urls }).Build();
        var links = new AlertConsoleLinks(Options.Create(new AlertOptions { ConsoleUrl = consoleUrl }), configuration);
        Assert.Equal(expected, links.For("s1/hot/1")?.AbsoluteUri);
        if (expected is not null)
        {
            Assert.EndsWith("/console/alerts/room%20%231%3F/hot/1", links.For("room #1?/hot/1")!.AbsoluteUri, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("https://telemetry.campus.example", true)]
    [InlineData("telemetry.campus.example", false)]
    [InlineData("https://telemetry.campus.example/?a=1", false)]
    public void ConsoleUrl_must_be_an_absolute_http_url(string? consoleUrl, bool valid) =>
        Assert.Equal(valid, AlertConsoleLinks.Problem(consoleUrl) is null);

    static void AssertProblem(AlertmanagerOptions options, string? problem)
    {
        var problems = options.Problems();
        if (problem is null)
        {
            Assert.Empty(problems);
        }
        else
        {
            var only = Assert.Single(problems);
            Assert.StartsWith("Alerts:Alertmanager", only, StringComparison.Ordinal);
            Assert.Contains(problem, only, StringComparison.Ordinal);
        }
    }
}
