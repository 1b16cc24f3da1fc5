namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A real mosquitto 2.0 MQTT broker (<c>/usr/sbin/mosquitto</c>, Debian package <c>mosquitto</c>)
/// on a free loopback port, anonymous, without persistence, in a fresh temp folder deleted on dispose.
/// </summary>
/// <remarks>
/// The broker logs to stderr, which <see cref="ServerProcess"/> appends to mosquitto.log in the temp
/// folder. "log_dest file" is not used on purpose: started as root (as here and in CI), mosquitto drops
/// privileges to the "mosquitto" user after reading its config and can then no longer open a log file
/// inside the 0700 temp folder ("Unable to open log file"); the inherited stderr keeps working.
/// </remarks>
public sealed class MosquittoServer : TestServer
{
    static readonly TestServerKind Kind = new("mosquitto", "/usr/sbin/mosquitto", AptPackage: "mosquitto");

    readonly string extraConfig;

    MosquittoServer(TestServerSite site, string extraConfig)
        : base(Kind, site)
    {
        this.extraConfig = extraConfig;
    }

    /// <summary>Always 127.0.0.1.</summary>
    public string Host { get; } = "127.0.0.1";

    /// <summary>mqtt://127.0.0.1:port</summary>
    public Uri Url => new($"mqtt://{Host}:{Port}");

    /// <summary>Starts mosquitto in a fresh temp folder and waits until its port accepts TCP connections.</summary>
    public static Task<MosquittoServer> StartAsync(CancellationToken cancellationToken = default) => StartAsync("", cancellationToken);

    /// <param name="extraConfig">More mosquitto.conf lines, e.g. limits for a benchmark baseline.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static Task<MosquittoServer> StartAsync(string extraConfig, CancellationToken cancellationToken = default) =>
        StartAsync(Kind, site => new MosquittoServer(site, extraConfig), cancellationToken);

    protected override IEnumerable<string> CommandLine() => ["-c", ConfigPath];

    protected override string ConfigFile() =>
        $"""
        # Written by Telemetry.IntegrationTests.Fixtures.MosquittoServer for mosquitto 2.0.
        per_listener_settings false
        listener {Port} 127.0.0.1
        allow_anonymous true
        persistence false
        log_dest stderr
        log_type error
        log_type warning
        log_type notice
        log_type information
        log_type subscribe
        log_type unsubscribe
        log_timestamp true
        log_timestamp_format %Y-%m-%dT%H:%M:%S
        connection_messages true
        {extraConfig}

        """;

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) => AcceptsTcpAsync(Port, cancellationToken);
}
