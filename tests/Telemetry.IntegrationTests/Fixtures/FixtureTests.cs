using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Telemetry.IntegrationTests.Fixtures;

[Collection(InfluxDbFixture.CollectionName)]
public sealed class InfluxDbFixtureTests(InfluxDbFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Written_point_is_read_back_by_QueryAsync()
    {
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"influxd pid {fixture.Server.Pid} at {fixture.Url} ready in {fixture.Server.Process.FirstStartDuration.TotalMilliseconds:0} ms");
        var sensor = NewSensor();
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        await PostLineAsync(sensor, 21.5, ts);

        var series = await fixture.Server.QueryAsync(
            InfluxDbFixture.Database,
            $"SELECT * FROM telemetry WHERE sensor = '{sensor}'",
            Ct);
        var only = Assert.Single(series);
        Assert.Equal("telemetry", only.Name);
        var row = Assert.Single(only.Values);
        Assert.Equal(ts, row[only.ColumnIndex("time")].GetInt64());
        Assert.Equal(21.5, only.Get(0, "temperature").GetDouble());
        Assert.Equal("b1", only.Get(0, "building").GetString());
        Assert.Equal("r1", only.Get(0, "room").GetString());
        Assert.Equal(sensor, only.Get(0, "sensor").GetString());

        var grouped = await fixture.Server.QueryAsync(
            InfluxDbFixture.Database,
            $"SELECT last(temperature) FROM telemetry WHERE sensor = '{sensor}' GROUP BY *",
            Ct);
        Assert.Equal(sensor, Assert.Single(grouped).Tags["sensor"]);

        Assert.Equal(1, await fixture.Server.CountAsync(InfluxDbFixture.Database, "telemetry", "temperature", $"sensor = '{sensor}'", Ct));
        Assert.Equal(0, await fixture.Server.CountAsync(InfluxDbFixture.Database, "no_such_measurement", "temperature", cancellationToken: Ct));
    }

    [Fact]
    public async Task Query_errors_throw()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => fixture.Server.QueryAsync(InfluxDbFixture.Database, "SELECT FROM WHERE", Ct));
        Assert.Contains("error parsing query", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_and_start_keeps_data_port_and_folder()
    {
        var server = fixture.Server;
        var sensor = NewSensor();
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await PostLineAsync(sensor, 22.25, ts);
        var url = server.Url;
        var oldPid = server.Pid;
        try
        {
            var stopClock = System.Diagnostics.Stopwatch.StartNew();
            server.Process.Stop();
            TestContext.Current.TestOutputHelper?.WriteLine($"influxd stopped (SIGTERM) in {stopClock.ElapsedMilliseconds} ms");
            Assert.False(server.Process.IsRunning);
            Assert.False(await server.PingAsync(TimeSpan.FromSeconds(1), Ct));

            await server.Process.StartAsync(Ct);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"influxd restarted in {server.Process.LastStartDuration.TotalMilliseconds:0} ms");

            Assert.NotEqual(oldPid, server.Pid);
            Assert.Equal(url, server.Url);
            Assert.True(await server.PingAsync(TimeSpan.FromSeconds(5), Ct));
            Assert.Equal(1, await server.CountAsync(InfluxDbFixture.Database, "telemetry", "temperature", $"sensor = '{sensor}'", Ct));
        }
        finally
        {
            await fixture.EnsureRunningAsync(Ct);
        }
    }

    [Fact]
    public async Task Killed_server_recovers_acknowledged_writes_from_the_wal()
    {
        var server = fixture.Server;
        var sensor = NewSensor();
        await PostLineAsync(sensor, 23.0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        try
        {
            server.Process.Kill();
            await server.Process.StartAsync(Ct);

            Assert.Equal(1, await server.CountAsync(InfluxDbFixture.Database, "telemetry", "temperature", $"sensor = '{sensor}'", Ct));
        }
        finally
        {
            await fixture.EnsureRunningAsync(Ct);
        }
    }

    [Fact]
    public async Task Frozen_server_does_not_answer_and_answers_again_after_thaw()
    {
        var server = fixture.Server;
        var pid = server.Pid;
        try
        {
            server.Process.Freeze();
            Assert.True(server.Process.IsFrozen);
            Assert.False(await server.PingAsync(TimeSpan.FromMilliseconds(500), Ct));

            server.Process.Thaw();
            Assert.True(await server.PingAsync(TimeSpan.FromSeconds(5), Ct));
            Assert.Equal(pid, server.Pid);
        }
        finally
        {
            await fixture.EnsureRunningAsync(Ct);
        }
    }

    private async Task PostLineAsync(string sensor, double temperature, long ts)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"telemetry,building=b1,room=r1,sensor={sensor} temperature={temperature} {ts}");
        using var content = new StringContent(line);
        using var response = await fixture.Server.Http.PostAsync(
            new Uri($"write?db={InfluxDbFixture.Database}&precision=ms", UriKind.Relative),
            content,
            Ct);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private static string NewSensor() => "s" + Guid.NewGuid().ToString("N")[..12];
}

[Collection(VictoriaMetricsFixture.CollectionName)]
public sealed class VictoriaMetricsFixtureTests(VictoriaMetricsFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Line_protocol_via_api_v2_write_is_exported_as_measurement_underscore_field()
    {
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"victoria-metrics pid {fixture.Server.Pid} at {fixture.Url} ready in {fixture.Server.Process.FirstStartDuration.TotalMilliseconds:0} ms");
        var sensor = "s" + Guid.NewGuid().ToString("N")[..12];
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var content = new StringContent($"telemetry,building=b1,room=r1,sensor={sensor} temperature=21.5,humidity=40 {ts}");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("api/v2/write?bucket=campus&org=campus&precision=ms", UriKind.Relative))
        {
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Token any-token-is-ignored");
        using var response = await fixture.Server.Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        var series = await fixture.Server.WaitForExportAsync($"{{__name__=~\"telemetry_.*\",sensor=\"{sensor}\"}}", s => s.Count == 2, cancellationToken: Ct);

        var temperature = Assert.Single(series, s => s.Name == "telemetry_temperature");
        Assert.Equal("b1", temperature.Label("building"));
        Assert.Equal("r1", temperature.Label("room"));
        Assert.Equal(sensor, temperature.Label("sensor"));
        Assert.Null(temperature.Label("db"));
        Assert.Equal([21.5], temperature.Values);
        Assert.Equal([ts], temperature.Timestamps);
        Assert.Equal([40.0], Assert.Single(series, s => s.Name == "telemetry_humidity").Values);
    }

    [Fact]
    public async Task Same_timestamp_written_twice_is_stored_once()
    {
        var sensor = "s" + Guid.NewGuid().ToString("N")[..12];
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await fixture.Server.WriteAsync($"telemetry,sensor={sensor} temperature=1 {ts}", cancellationToken: Ct);
        await fixture.Server.WriteAsync($"telemetry,sensor={sensor} temperature=1 {ts}", cancellationToken: Ct);
        await fixture.Server.WriteAsync($"telemetry,sensor={sensor} temperature=2 {ts + 1}", cancellationToken: Ct);

        var series = await fixture.Server.WaitForExportAsync(
            $"telemetry_temperature{{sensor=\"{sensor}\"}}",
            s => s.Count == 1 && s[0].Values.Count >= 2,
            cancellationToken: Ct);

        Assert.Equal([ts, ts + 1], series[0].Timestamps);
    }

    [Fact]
    public async Task Influx_clients_ping_endpoint_is_slash_ping()
    {
        Assert.True(await fixture.Server.PingAsync(TimeSpan.FromSeconds(5), Ct));
        using var health = await fixture.Server.Http.GetAsync(new Uri("health", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var v2Ping = await fixture.Server.Http.GetAsync(new Uri("api/v2/ping", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, v2Ping.StatusCode);
    }

    [Fact]
    public async Task Freeze_thaw_and_restart_on_the_same_data()
    {
        var server = fixture.Server;
        var sensor = "s" + Guid.NewGuid().ToString("N")[..12];
        await server.WriteAsync($"telemetry,sensor={sensor} temperature=5 {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}", cancellationToken: Ct);
        await server.WaitForExportAsync($"telemetry_temperature{{sensor=\"{sensor}\"}}", cancellationToken: Ct);
        try
        {
            server.Process.Freeze();
            Assert.False(await server.PingAsync(TimeSpan.FromMilliseconds(500), Ct));
            server.Process.Thaw();
            Assert.True(await server.PingAsync(TimeSpan.FromSeconds(5), Ct));

            await server.Process.RestartAsync(Ct);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"victoria-metrics restarted in {server.Process.LastStartDuration.TotalMilliseconds:0} ms");
            var series = await server.ExportAsync($"telemetry_temperature{{sensor=\"{sensor}\"}}", Ct);
            Assert.Equal([5.0], Assert.Single(series).Values);
        }
        finally
        {
            await fixture.EnsureRunningAsync(Ct);
        }
    }
}

[Collection(MosquittoFixture.CollectionName)]
public sealed class MosquittoFixtureTests(MosquittoFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Broker_accepts_a_tcp_connection_and_an_anonymous_mqtt_connect()
    {
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"mosquitto pid {fixture.Server.Pid} at {fixture.Server.Url} ready in {fixture.Server.Process.FirstStartDuration.TotalMilliseconds:0} ms");
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, fixture.Port, Ct);
        var stream = client.GetStream();

        // MQTT 3.1.1 CONNECT, clean session, keep-alive 10 s, client id "fx", no credentials.
        byte[] connect = [0x10, 14, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x02, 0x00, 0x0A, 0x00, 0x02, (byte)'f', (byte)'x'];
        await stream.WriteAsync(connect, Ct);
        var connack = new byte[4];
        await stream.ReadExactlyAsync(connack, Ct);

        // CONNACK, remaining length 2, no session present, return code 0 (accepted).
        Assert.Equal([0x20, 0x02, 0x00, 0x00], connack);
    }

    [Fact]
    public async Task Broker_restarts_on_the_same_port()
    {
        try
        {
            fixture.Server.Process.Stop();
            using (var refused = new TcpClient())
            {
                await Assert.ThrowsAnyAsync<SocketException>(() => refused.ConnectAsync(IPAddress.Loopback, fixture.Port, Ct).AsTask());
            }

            await fixture.Server.Process.StartAsync(Ct);
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, fixture.Port, Ct);
        }
        finally
        {
            await fixture.EnsureRunningAsync(Ct);
        }
    }
}

public sealed class ServerProcessTests
{
    [Fact]
    public void FreePort_GetMany_returns_distinct_ports()
    {
        var ports = FreePort.GetMany(5);
        Assert.Equal(5, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(p, 1024, 65535));
    }

    [Fact]
    public void Missing_binary_names_the_apt_package()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => ServerProcess.RequireExecutable("/nonexistent/influxd", "influxdb"));
        Assert.Contains("apt-get install -y influxdb", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_failure_reports_exit_code_and_log_tail()
    {
        var directory = Directory.CreateTempSubdirectory("telemetry-it-serverprocess-").FullName;
        try
        {
            using var process = new ServerProcess(
                "failing",
                "/bin/sh",
                "dash",
                ["-c", "echo boom-marker >&2; exit 3"],
                directory,
                Path.Combine(directory, "failing.log"),
                _ => Task.FromResult(false));

            var error = await Assert.ThrowsAsync<ServerStartException>(() => process.StartAsync(TestContext.Current.CancellationToken));

            Assert.Contains("exited with code 3", error.Message, StringComparison.Ordinal);
            Assert.Contains("boom-marker", error.LogTail, StringComparison.Ordinal);
            Assert.False(error.AddressInUse);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Readiness_deadline_reports_timeout_and_kills_the_process()
    {
        var directory = Directory.CreateTempSubdirectory("telemetry-it-serverprocess-").FullName;
        try
        {
            using var process = new ServerProcess(
                "sleeper",
                "/bin/sleep",
                "coreutils",
                ["30"],
                directory,
                Path.Combine(directory, "sleeper.log"),
                _ => Task.FromResult(false),
                TimeSpan.FromMilliseconds(300));

            var error = await Assert.ThrowsAsync<ServerStartException>(() => process.StartAsync(TestContext.Current.CancellationToken));

            Assert.Contains("was not ready within", error.Message, StringComparison.Ordinal);
            Assert.False(process.IsRunning);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
