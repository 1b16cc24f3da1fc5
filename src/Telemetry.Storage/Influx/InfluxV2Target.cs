using InfluxDB.Client;
using InfluxDB.Client.Core.Exceptions;
using Microsoft.Extensions.Options;

namespace Telemetry.Storage.Influx;

/// <summary>
/// The InfluxDB v2 write API (<c>/api/v2/write</c>) through InfluxDB.Client's <see cref="WriteApiAsync"/>, which
/// returns errors to the caller and does not retry on its own; the writer's retry policy does. One
/// <see cref="InfluxDBClient"/> for the process.
/// </summary>
public sealed class InfluxV2Target : IInfluxTarget, IDisposable
{
    readonly InfluxDBClient client;
    readonly WriteApiAsync writeApi;
    readonly InfluxOptions options;

    public InfluxV2Target(IOptions<InfluxOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        var clientOptions = new InfluxDBClientOptions(this.options.Url.ToString())
        {
            Org = this.options.Org,
            Bucket = this.options.Bucket,
            Timeout = this.options.Timeout,
        };
        if (!string.IsNullOrEmpty(this.options.Token))
        {
            clientOptions.Token = this.options.Token;
        }

        client = new InfluxDBClient(clientOptions);
        if (this.options.Gzip)
        {
            client.EnableGzip();
        }

        writeApi = client.GetWriteApiAsync();
    }

    public async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        try
        {
            await writeApi.WriteRecordsAsync(lines, LineProtocol.Precision, options.Bucket, options.Org, cancellationToken);
        }
        catch (HttpException ex) when (ex.Status > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            TimeSpan? retryAfter = ex.RetryAfter is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
            throw new InfluxWriteException($"InfluxDB answered {ex.Status}: {ex.Message}", ex.Status, retryAfter, ex);
        }
        catch (InfluxException ex)
        {
            // InfluxDB.Client reports timeouts, refused connections and cancellation alike, as status 0.
            cancellationToken.ThrowIfCancellationRequested();
            throw new InfluxWriteException($"InfluxDB at {Describe()} is unreachable: {ex.Message}", null, inner: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new InfluxWriteException($"InfluxDB at {Describe()} is unreachable: {ex.Message}", null, inner: ex);
        }
        catch (FormatException ex)
        {
            // InfluxDB.Client 5.1 cannot parse an HTTP-date Retry-After (it expects seconds): the answer was a 429/503.
            throw new InfluxWriteException($"InfluxDB asked to retry later (unparsable Retry-After): {ex.Message}", 503, inner: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InfluxWriteException($"InfluxDB at {Describe()} did not answer within {options.Timeout}", null, inner: ex);
        }
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await client.PingAsync().WaitAsync(cancellationToken);
        }
        catch (InfluxException)
        {
            return false;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public string Describe() => $"{options.Url} (v2 /api/v2/write, org '{options.Org}', bucket '{options.Bucket}')";

    public void Dispose() => client.Dispose();
}
