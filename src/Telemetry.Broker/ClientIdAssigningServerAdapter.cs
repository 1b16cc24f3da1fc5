using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace Telemetry.Broker;

/// <summary>
/// Lets MQTT 3.1.1 devices connect with an empty client id and a clean session, which the 3.1.1 spec allows a server
/// to accept by assigning an id (MQTT-3.1.3-6) and which common device clients do by default. MQTTnet 5 assigns ids
/// only to MQTT 5 clients and refuses the rest before any event handler can help, so the id is filled in as the
/// CONNECT packet comes off the wire.
/// <para>
/// It also caps MQTT 5 topic aliases: MQTTnet 5.2 writes a Topic Alias Maximum of 65,535 into every CONNACK
/// (hard-coded in its <c>MqttConnAckPacketFactory</c>, no server option) and keeps each alias's topic for the
/// connection's life. The CONNACK is rewritten to advertise <paramref name="topicAliasMaximum"/> (0: no aliases), and a
/// PUBLISH using an alias above it closes the connection (MQTT 5 §3.3.2.3.4: a protocol error), reported through
/// <paramref name="onAliasRefused"/> with the client id the connection gave in CONNECT and what was wrong. So does, on
/// MQTT 5, a PUBLISH without a topic whose alias was never set on this connection, or without a topic and without an
/// alias (MQTT 5 §3.3.4: a protocol error; MQTTnet hands it on with an empty topic). Everything else passes through to the TCP adapter underneath untouched.
/// </para>
/// </summary>
public sealed class ClientIdAssigningServerAdapter(IMqttServerAdapter inner, ushort topicAliasMaximum, Action<string, string> onAliasRefused) : IMqttServerAdapter
{
    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        inner.ClientHandler = channel => ClientHandler is { } handler
            ? handler(new ChannelAdapter(channel, topicAliasMaximum, onAliasRefused))
            : Task.CompletedTask;
        return inner.StartAsync(options, logger);
    }

    public Task StopAsync() => inner.StopAsync();

    public void Dispose() => inner.Dispose();

    sealed class ChannelAdapter(IMqttChannelAdapter inner, ushort topicAliasMaximum, Action<string, string> onAliasRefused) : Transport.DelegatingChannelAdapter(inner)
    {
        readonly HashSet<ushort> aliasesSet = [];
        bool connectSeen;
        string clientId = "";

        public override async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            var packet = await Inner.ReceivePacketAsync(cancellationToken);
            if (!connectSeen && packet is MqttConnectPacket connect)
            {
                connectSeen = true;
                if (string.IsNullOrEmpty(connect.ClientId)
                    && connect.CleanSession
                    && Inner.PacketFormatterAdapter.ProtocolVersion is MqttProtocolVersion.V311 or MqttProtocolVersion.V310)
                {
                    connect.ClientId = ClientIds.NewAssigned();
                }

                clientId = connect.ClientId ?? "";
            }

            if (packet is MqttPublishPacket publish && AliasProblem(publish) is { } problem)
            {
                onAliasRefused(clientId, problem);
                // MQTTnet's receive loop ends the connection on a communication error, logging it as a warning.
                throw new MqttCommunicationException(problem);
            }

            return packet;
        }

        /// <summary>What is wrong with a PUBLISH's topic alias (or its missing topic), or null; records aliases it sets.</summary>
        string? AliasProblem(MqttPublishPacket publish)
        {
            var alias = publish.TopicAlias;
            if (alias > topicAliasMaximum)
            {
                return $"topic alias {alias} is above the Topic Alias Maximum of {topicAliasMaximum}";
            }

            if (!string.IsNullOrEmpty(publish.Topic))
            {
                if (alias != 0)
                {
                    aliasesSet.Add(alias); // at most topicAliasMaximum of them
                }

                return null;
            }

            if (Inner.PacketFormatterAdapter.ProtocolVersion != MqttProtocolVersion.V500)
            {
                return null; // an empty topic on MQTT 3.1.1 is refused where messages enter (topic_not_allowed)
            }

            return alias == 0 ? "a PUBLISH without a topic and without a topic alias"
                : !aliasesSet.Contains(alias) ? $"a PUBLISH without a topic on topic alias {alias}, which was never set on this connection"
                : null;
        }

        public override Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
        {
            if (packet is MqttConnAckPacket connAck)
            {
                connAck.TopicAliasMaximum = topicAliasMaximum;
            }

            return Inner.SendPacketAsync(packet, cancellationToken);
        }
    }
}
