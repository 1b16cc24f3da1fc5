using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// Two service processes with <c>Orleans:Clustering=AdoNet</c> on one real PostgreSQL form one cluster: both are active
/// in Orleans' membership table, a reading sent to the first node's broker is in the sensor's grain that the second
/// node's API answers for, and the grain's state is kept in PostgreSQL (<c>OrleansStorage</c>), not in a node's files.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class ClusterFormationTests(PostgresFixture postgres)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_nodes_form_one_cluster_and_share_grains_and_their_state()
    {
        var (database, connectionString) = await ClusterProcesses.NewClusterDatabaseAsync(postgres.Server, "formation", Ct);

        await using var a = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-a"), "--Grains:FeedCheckpointInterval=00:00:01"], Ct);
        await using var b = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-b"), "--Grains:FeedCheckpointInterval=00:00:01"], Ct);

        await ClusterProcesses.WaitForActiveNodesAsync(postgres.Server, database, 2, Ct);

        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", a.MqttPort).WithClientId("formation-1")
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build(), Ct);
        var publish = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("campus/b1/r1/formation-1/telemetry")
            .WithPayload("""{"temperature":21.5}""").WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(publish.IsSuccess, publish.ReasonString);

        await Poll.UntilAsync(
            "node b's API to show the reading sent to node a",
            async () =>
            {
                using var response = await b.Http.GetAsync(new Uri("api/sensors/formation-1", UriKind.Relative), Ct);
                return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(Ct) : $"{(int)response.StatusCode}";
            },
            body => body.Contains("21.5", StringComparison.Ordinal),
            within: TimeSpan.FromSeconds(60),
            cancellationToken: Ct);

        await Poll.UntilAsync(
            "the sensor's grain state in PostgreSQL",
            () => postgres.Server.QueryAsync(database, "SELECT graintypestring || ' ' || coalesce(grainidextensionstring, '') || ' ' || convert_from(payloadbinary, 'UTF8') FROM orleansstorage", Ct),
            rows => rows.Any(r => r is not null && r.Contains("formation-1", StringComparison.Ordinal) && r.Contains("\"readingsTotal\":1", StringComparison.Ordinal)),
            within: TimeSpan.FromSeconds(60),
            show: rows => string.Join(",", rows),
            cancellationToken: Ct);
    }
}
