using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Server;
using Telemetry.Broker.Identity;
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
    TlsHandshake tls,
    ConnectionRefusals connectionRefusals,
    SubscriptionAuthorizer subscriptions,
    CredentialStore credentials,
    ClientIdOwners owners,
    ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    readonly ILogger logger = loggerFactory.CreateLogger<MqttBroker>();
    readonly LogThrottle tooLargeLog = new(TimeSpan.FromSeconds(10), TimeProvider.System);
    MqttServer? server;
    ConnectionGate? gate;

    /// <summary>True while the broker listens for devices.</summary>
    public bool IsListening => server?.IsStarted == true;

    /// <summary>The listeners, e.g. <c>127.0.0.1:1883, 0.0.0.0:8883 (TLS)</c>.</summary>
    public string Endpoint => string.Join(", ", Listeners().Select(l => l.Tls ? $"{l.Endpoint} (TLS)" : l.Endpoint.ToString()));

    IEnumerable<(IPEndPoint Endpoint, bool Tls)> Listeners()
    {
        var broker = options.Value;
        if (broker.Plain.Enabled)
        {
            yield return (new IPEndPoint(broker.ListenAddress(), broker.Port), false);
        }

        if (broker.Tls.Enabled)
        {
            yield return (new IPEndPoint(broker.TlsListenAddress(), broker.Tls.Port), true);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var broker = options.Value;
        // Only what MQTTnet's core reads: the endpoint options (address, port, backlog, socket options) are read by
        // MQTTnet's own TCP adapter alone, and ours replaces it (see LimitedTcpServerAdapter).
        var serverOptions = new MqttServerOptionsBuilder()
            .WithMaxPendingMessagesPerClient(broker.MaxPendingMessagesPerClient)
            .Build();

        gate = new ConnectionGate(open, connectionRefusals, broker.MaxNewConnectionsPerSecondPerAddress, broker.NewConnectionBurstPerAddress);
        if (broker.Tls.Enabled)
        {
            tls.Start();
        }

        // One adapter per listener, the same protections on each; TLS only adds the handshake underneath.
        var adapters = Listeners().Select(listener =>
        {
            var transport = new LimitedTcpServerAdapter(listener.Endpoint, broker.ConnectionBacklog, broker.MaxPacketBytes, (remote, length) =>
            {
                metrics.MessagesRefused.Add(1, new KeyValuePair<string, object?>("reason", "packet_too_large"));
                if (tooLargeLog.ShouldLog("packet_too_large", out var suppressed))
                {
                    logger.LogWarning("Closed the connection from {RemoteEndPoint}: it sent a packet of {Length} bytes, more than Broker:MaxPacketBytes ({Limit}); {Suppressed} more since the last line",
                        remote, length, broker.MaxPacketBytes, suppressed);
                }
            })
            {
                Tls = listener.Tls ? tls : null,
                Gate = gate, // one gate for both listeners: the connection limit counts every socket
            };
            var guard = new ProtocolGuardServerAdapter(transport, broker, connectionRefusals, refusals, TimeProvider.System);
            return (IMqttServerAdapter)new ClientIdAssigningServerAdapter(guard, (ushort)broker.TopicAliasMaximum, (clientId, problem) =>
                refusals.Record(clientId, "", new Refusal(RefusalReason.TopicAliasInvalid,
                    $"{problem} (Broker:TopicAliasMaximum is {broker.TopicAliasMaximum}); the connection is closed")));
        }).ToList();
        server = new MqttServerFactory().CreateMqttServer(serverOptions, adapters, new MqttNetLogBridge(loggerFactory));
        server.ValidatingConnectionAsync += validator.ValidateAsync;
        server.InterceptingPublishAsync += ingest.InterceptAsync;
        server.InterceptingSubscriptionAsync += subscriptions.InterceptAsync;
        server.ClientConnectedAsync += args =>
        {
            // MQTTnet 5 reuses a live session (and its SessionItems) when a CONNECT with CleanSession=false takes over
            // its client id, so the items may still hold the previous connection's identity. The claim made during
            // validation (ClientIdOwners.TryClaim) is the validated identity of the newest connection of this id:
            // store it again, so that a connection never runs with another identity's session items (nor holds its
            // acknowledgements in another connection's channel adapter).
            if (owners.ClaimOf(args.ClientId) is { } claim)
            {
                claim.Identity.StoreIn(args.SessionItems);
                ClientIdOwners.StoreIn(args.SessionItems, claim);
                HeldAcknowledgements.StoreIn(args.SessionItems, claim.Acknowledgements);
                if (!CredentialsInForce(credentials, claim.Identity) && server is { IsStarted: true } running)
                {
                    // Validated against a password the store replaced meanwhile (a reload between the hash check and now).
                    validator.Count("credentials_revoked");
                    logger.LogWarning("Disconnecting MQTT client {ClientId}: the credentials of identity {Identity} were revoked or rotated while it connected",
                        Text.ForLog(args.ClientId), Text.ForLog(claim.Identity.Name));
                    _ = DisconnectAsync(running, args.ClientId);
                }
            }

            return ingest.OnConnectedAsync(args);
        };
        server.ClientDisconnectedAsync += args =>
        {
            if (args.DisconnectType == MqttClientDisconnectType.Takeover)
            {
                logger.LogInformation("MQTT client {ClientId} was taken over by a new connection of the same identity", Text.ForLog(args.ClientId));
            }
            else
            {
                owners.Disconnected(args.ClientId, ClientIdOwners.ClaimIn(args.SessionItems));
            }

            return ingest.OnDisconnectedAsync(args);
        };
        credentials.Changed += OnCredentialsChanged;

        await server.StartAsync();
        if (!broker.AnonymousAllowed())
        {
            logger.LogInformation("MQTT broker requires credentials: {Count} identities in the credential store {Path}, or client certificates",
                credentials.Count, credentials.Path ?? "(none configured)");
        }

        logger.LogInformation("MQTT broker listening on {Endpoint} (MQTT 3.1.1 and 5.0), at most {MaxConnections} connections",
            Endpoint, open.Limit);
        if (broker.Plain.Enabled && !IPAddress.IsLoopback(broker.ListenAddress()))
        {
            logger.LogWarning("MQTT WITHOUT TLS on {Address}:{Port}, reachable from the network: usernames, passwords and readings cross it in clear text and can be read or altered on the way. "
                + "Enable Broker:Tls and set Broker:Plain:Enabled=false (or Broker:Host=127.0.0.1 to keep the plain listener for local clients only)",
                broker.ListenAddress(), broker.Port);
        }
    }

    /// <summary>
    /// The credential store was reloaded: live connections that logged in with a password that is no longer in force
    /// (the identity was revoked, or its password rotated) are disconnected (MQTT 5: reason 0x87 not authorized),
    /// counted as <c>credentials_revoked</c>. Certificate identities are revoked through the TLS listener's deny list.
    /// </summary>
    void OnCredentialsChanged(CredentialStore store, IReadOnlyDictionary<string, Domain.Identity.CredentialEntry> before)
    {
        if (server is not { IsStarted: true } running)
        {
            return;
        }

        foreach (var (clientId, identity) in owners.Snapshot())
        {
            if (CredentialsInForce(store, identity))
            {
                continue;
            }

            validator.Count("credentials_revoked");
            logger.LogWarning("Disconnecting MQTT client {ClientId}: the credentials of identity {Identity} were revoked or rotated",
                Text.ForLog(clientId), Text.ForLog(identity.Name));
            _ = DisconnectAsync(running, clientId);
        }
    }

    /// <summary>False for a password identity whose store entry is gone or holds another hash than it logged in with.</summary>
    static bool CredentialsInForce(CredentialStore store, ConnectionIdentity identity) =>
        identity.Source != IdentitySource.Password
        || store.Find(identity.Name) is { } entry && string.Equals(entry.Hash.Text, identity.Credential, StringComparison.Ordinal);

    async Task DisconnectAsync(MqttServer running, string clientId)
    {
        try
        {
            await running.DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions
            {
                ReasonCode = MQTTnet.Protocol.MqttDisconnectReasonCode.NotAuthorized,
                ReasonString = "credentials revoked",
            });
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Already gone (MQTTnet throws for an unknown client id), or the connection broke while closing.
            logger.LogDebug("Disconnecting revoked client {ClientId}: {Error}", Text.ForLog(clientId), ex.Message);
        }
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
        credentials.Changed -= OnCredentialsChanged;
        server?.Dispose();
        gate?.Dispose();
    }
}
