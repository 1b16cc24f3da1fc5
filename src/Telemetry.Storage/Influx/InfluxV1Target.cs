using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;

namespace Telemetry.Storage.Influx;

/// <summary>
/// InfluxDB 1.x: <c>POST /write?db=…&amp;rp=…&amp;precision=ms</c> with the line protocol produced by InfluxDB.Client's
/// PointData (InfluxDB.Client itself speaks only <c>/api/v2/*</c>, which 1.x before 1.8 lacks).
/// </summary>
public sealed class InfluxV1Target : IInfluxTarget
{
    public const string HttpClientName = "influx-v1";

    readonly HttpClient http;
    readonly InfluxOptions options;
    readonly string writePath;

    public InfluxV1Target(IHttpClientFactory httpClientFactory, IOptions<InfluxOptions> options)
    {
        ArgumentNullException.ThrowIfNull(httpClientFactory);
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        http = httpClientFactory.CreateClient(HttpClientName);
        http.BaseAddress = this.options.Url;
        http.Timeout = this.options.Timeout;
        if (!string.IsNullOrEmpty(this.options.Username))
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{this.options.Username}:{this.options.Password}"));
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }

        var query = $"db={Uri.EscapeDataString(this.options.Database)}&precision=ms";
        if (!string.IsNullOrEmpty(this.options.RetentionPolicy))
        {
            query += $"&rp={Uri.EscapeDataString(this.options.RetentionPolicy)}";
        }

        writePath = $"write?{query}";
    }

    public async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        using var content = CreateContent(lines, options.Gzip);
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync(new Uri(writePath, UriKind.Relative), content, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new InfluxWriteException($"InfluxDB at {Describe()} is unreachable: {ex.Message}", null, inner: ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InfluxWriteException($"InfluxDB at {Describe()} did not answer within {options.Timeout}", null, inner: ex);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InfluxWriteException(
                $"InfluxDB answered {status} {response.ReasonPhrase}: {Truncate(body)}",
                status,
                RetryAfter(response));
        }
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(new Uri("ping", UriKind.Relative), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public string Describe() => $"{options.Url} (v1 /write, database '{options.Database}')";

    internal static HttpContent CreateContent(IReadOnlyList<string> lines, bool gzip)
    {
        var text = string.Join('\n', lines);
        var bytes = Encoding.UTF8.GetBytes(text);
        if (!gzip)
        {
            var plain = new ByteArrayContent(bytes);
            plain.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
            return plain;
        }

        using var buffer = new MemoryStream(bytes.Length / 4 + 64);
        using (var zip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(bytes);
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    static string Truncate(string text) => text.Length > 500 ? text[..500] + "…" : text.Trim();
}
