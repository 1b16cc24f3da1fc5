using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A real HTTP endpoint on a free loopback port that takes the service's alert webhook POSTs at <see cref="Url"/>
/// (<c>…/hook</c>), answers 200 and keeps every call in arrival order.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    readonly WebApplication app;

    WebhookReceiver(WebApplication app, string url, ConcurrentQueue<(JsonElement Body, byte[] Raw, string? Signature)> calls)
    {
        this.app = app;
        Url = url;
        Calls = calls;
    }

    /// <summary>The URL to configure as <c>Alerts:Webhooks:&lt;n&gt;:Url</c>.</summary>
    public string Url { get; }

    /// <summary>Bodies of the POSTs, in arrival order, with their signature header.</summary>
    public ConcurrentQueue<(JsonElement Body, byte[] Raw, string? Signature)> Calls { get; }

    public static async Task<WebhookReceiver> StartAsync(CancellationToken ct)
    {
        var calls = new ConcurrentQueue<(JsonElement Body, byte[] Raw, string? Signature)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // its request log would bury a failing test's message in the runner's output
        builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Get()}");
        var app = builder.Build();
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var raw = buffer.ToArray();
            calls.Enqueue((JsonSerializer.Deserialize<JsonElement>(raw), raw, request.Headers["X-Campus-Signature"].FirstOrDefault()));
            return Results.Ok();
        });
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new WebhookReceiver(app, $"{app.Urls.Single()}/hook", calls);
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();
}
