using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Server;
using Telemetry.Broker.Transport;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

/// <summary>The embedded MQTTnet server as a hosted service: listens, validates connections, intercepts publishes.</summary>
public sealed class MqttBroker(
    IOptions<BrokerOptions> options,
    ConnectionValidator validator,
    OpenConnections open,
    IngestHandler ingest,
    TelemetryMetrics metrics,
    RefusalLog refusals,
    ConnectionRefusals connectionRefusals,
    ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    readonly ILogger logger = loggerFactory.CreateLogger<MqttBroker>();
    readonly LogThrottle tooLargeLog = new(TimeSpan.FromSeconds(10), TimeProvider.System);
    MqttServer? server;
    ConnectionGate? gate;

    /// <summary>True while the broker listens for devices.</summary>
    public bool IsListening => server?.IsStarted == true;

    public string Endpoint => $"{options.Value.Host}:{options.Value.Port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var broker = options.Value;
        // Only what MQTTnet's core reads: the endpoint options (address, port, backlog, socket options) are read by
        // MQTTnet's own TCP adapter alone, and ours replaces it (see LimitedTcpServerAdapter).
        var serverOptions = new MqttServerOptionsBuilder()
            .WithMaxPendingMessagesPerClient(broker.MaxPendingMessagesPerClient)
            .Build();

        var endpoint = new IPEndPoint(broker.ListenAddress(), broker.Port);
        gate = new ConnectionGate(open, connectionRefusals, broker.MaxNewConnectionsPerSecondPerAddress, broker.NewConnectionBurstPerAddress);
        var transport = new LimitedTcpServerAdapter(endpoint, broker.ConnectionBacklog, broker.MaxPacketBytes, (remote, length) =>
        {
            metrics.MessagesRefused.Add(1, new KeyValuePair<string, object?>("reason", "packet_too_large"));
            if (tooLargeLog.ShouldLog("packet_too_large", out var suppressed))
            {
                logger.LogWarning("Closed the connection from {RemoteEndPoint}: it sent a packet of {Length} bytes, more than Broker:MaxPacketBytes ({Limit}); {Suppressed} more since the last line",
                    remote, length, broker.MaxPacketBytes, suppressed);
            }
        })
        {
            Gate = gate,
        };
        var guard = new ProtocolGuardServerAdapter(transport, broker, connectionRefusals, refusals, TimeProvider.System);
        var adapter = new ClientIdAssigningServerAdapter(guard, (ushort)broker.TopicAliasMaximum, (clientId, alias) =>
            refusals.Record(clientId, "", new Refusal(RefusalReason.TopicAliasInvalid,
                $"topic alias {alias} is above Broker:TopicAliasMaximum ({broker.TopicAliasMaximum}); the connection is closed")));
        server = new MqttServerFactory().CreateMqttServer(serverOptions, [adapter], new MqttNetLogBridge(loggerFactory));
        server.ValidatingConnectionAsync += validator.ValidateAsync;
        server.InterceptingPublishAsync += ingest.InterceptAsync;
        server.ClientConnectedAsync += ingest.OnConnectedAsync;
        server.ClientDisconnectedAsync += args =>
        {
            if (args.DisconnectType == MqttClientDisconnectType.Takeover)
            {
                logger.LogInformation("MQTT client {ClientId} was taken over by a new connection with the same client id", Text.ForLog(args.ClientId));
            }

            return ingest.OnDisconnectedAsync(args);
        };

        await server.StartAsync();
        if (!broker.AnonymousAllowed())
        {
            logger.LogInformation("MQTT broker requires credentials ({Users} users configured)", broker.Users.Count);
        }

        logger.LogInformation("MQTT broker listening on {Endpoint} (MQTT 3.1.1 and 5.0), at most {MaxConnections} connections",
            Endpoint, open.Limit);
    }

    /// <summary>
    /// Publishes one of the service's own messages (alerts) to subscribers; retained when asked, and an empty retained
    /// payload removes the retained message of its topic.
    /// </summary>
    public Task PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (server is not { IsStarted: true })
        {
            throw new InvalidOperationException("the MQTT broker is not running");
        }

        return server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message)
        {
            SenderClientId = ServiceMessages.SenderClientId,
            CustomSessionItems = ServiceMessages.SessionItems,
        }, cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (server is { IsStarted: true })
        {
            await server.StopAsync(new MqttServerStopOptions());
            logger.LogInformation("MQTT broker stopped");
        }
    }

    public void Dispose()
    {
        server?.Dispose();
        gate?.Dispose();
    }
}
