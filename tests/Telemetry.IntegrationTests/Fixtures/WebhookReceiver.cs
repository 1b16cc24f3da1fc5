using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>One POST the receiver took (accepted or refused), with its signature and idempotency-key headers.</summary>
public sealed record WebhookCall(JsonElement Body, byte[] Raw, string? Signature, string? IdempotencyKey, bool Accepted);

/// <summary>
/// A real HTTP endpoint on a loopback port that takes the service's alert webhook POSTs at <see cref="Url"/>
/// (<c>…/hook</c>) and keeps every call in arrival order. It answers 200 (<see cref="Refuse"/> false, the default) or
/// 503 (true); <see cref="Calls"/> holds the accepted POSTs, <see cref="Attempts"/> every POST.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    readonly WebApplication app;
    readonly ConcurrentQueue<WebhookCall> attempts;
    volatile bool refuse;

    WebhookReceiver(WebApplication app, string url, ConcurrentQueue<WebhookCall> attempts)
    {
        this.app = app;
        Url = url;
        this.attempts = attempts;
    }

    /// <summary>The URL to configure as <c>Alerts:Webhooks:&lt;n&gt;:Url</c>.</summary>
    public string Url { get; }

    /// <summary>When true, every POST is answered 503 Service Unavailable (and recorded in <see cref="Attempts"/> only).</summary>
    public bool Refuse
    {
        get => refuse;
        set => refuse = value;
    }

    /// <summary>The accepted POSTs (answered 200), in arrival order.</summary>
    public IReadOnlyList<WebhookCall> Calls => [.. attempts.Where(c => c.Accepted)];

    /// <summary>Every POST, accepted or refused, in arrival order.</summary>
    public IReadOnlyList<WebhookCall> Attempts => [.. attempts];

    /// <summary>Starts on a free port.</summary>
    public static Task<WebhookReceiver> StartAsync(CancellationToken ct) => StartAsync(FreePort.Get(), refuse: false, ct);

    /// <summary>Starts on <paramref name="port"/> (e.g. one a service was told about while nobody listened there).</summary>
    public static async Task<WebhookReceiver> StartAsync(int port, bool refuse, CancellationToken ct)
    {
        var attempts = new ConcurrentQueue<WebhookCall>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // its request log would bury a failing test's message in the runner's output
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var raw = buffer.ToArray();
            var accepted = receiver is { Refuse: false };
            attempts.Enqueue(new WebhookCall(JsonSerializer.Deserialize<JsonElement>(raw), raw,
                request.Headers["X-Campus-Signature"].FirstOrDefault(), request.Headers["Idempotency-Key"].FirstOrDefault(), accepted));
            return accepted ? Results.Ok() : Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        });
        receiver = new WebhookReceiver(app, $"http://127.0.0.1:{port}/hook", attempts) { Refuse = refuse };
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return receiver;
    }

    /// <summary>The URL a receiver started on <paramref name="port"/> will have.</summary>
    public static string UrlOn(int port) => $"http://127.0.0.1:{port}/hook";

    public ValueTask DisposeAsync() => app.DisposeAsync();
}
