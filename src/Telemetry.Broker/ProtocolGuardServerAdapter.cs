using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Domain.Ingest;

namespace Telemetry.Broker;

/// <summary>
/// Sits between the TCP transport and MQTTnet and sees every packet of a connection, to enforce what MQTTnet 5.2 does
/// not (each checked in its source):
/// <list type="bullet">
/// <item>a CONNECT deadline: MQTTnet waits <c>DefaultCommunicationTimeout</c> (100 s) for the first packet; here a
///   connection without a complete CONNECT within <c>Broker:ConnectTimeout</c> of its accept is closed
///   (<c>connect_timeout</c>);</item>
/// <item>a maximum keep-alive: MQTTnet's keep-alive monitor closes a connection after 1.5 × the keep-alive of its
///   CONNECT packet and never when it is 0. A keep-alive of 0 or above <c>Broker:MaxKeepAlive</c> is rewritten to the
///   maximum in the CONNECT packet as it comes off the wire — the monitor reads that very packet object — and MQTT 5
///   clients are told so with a Server Keep Alive in CONNACK (MQTT 5 §3.2.2.3.14);</item>
/// <item>packet identifiers: a QoS 1/2 PUBLISH with packet identifier 0 is a protocol error (MQTT-2.2.1-3) that
///   MQTTnet hands on and never acknowledges: the connection is closed (<c>invalid_packet_id</c>);</item>
/// <item>QoS 2 exactly once: MQTTnet processes every QoS 2 PUBLISH it reads, also a resend of one whose PUBREL has
///   not come yet. Such a resend is not handed on; the first one's PUBREC is sent again (<c>qos2_duplicate</c>).
///   A PUBREL for an identifier that is not awaiting release is answered (by MQTTnet) with a PUBCOMP whose MQTT 5
///   reason code is rewritten to Packet Identifier Not Found (<c>packet_id_not_found</c>);</item>
/// <item>messages and bytes per second per connection (<c>Broker:MaxMessagesPerSecondPerConnection</c>,
///   <c>Broker:MaxBytesPerSecondPerConnection</c>, with bursts): after a PUBLISH beyond the allowance the next packet
///   is not read until the token buckets allow it — TCP backpressure on the device; its PUBACKs wait because the
///   messages they would acknowledge have not been read. Nothing is acknowledged and then dropped. A connection kept
///   above its rate for <c>Broker:RateLimitDisconnectAfter</c> without its allowance recovering is closed
///   (<c>rate_limited</c>; MQTT 5 DISCONNECT 0x96 Message Rate Too High).</item>
/// <item>held acknowledgements (<see cref="IHeldAcknowledgements"/>): the PUBACK/PUBREC of an accepted message waits
///   here until the message is durable in the spool, while MQTTnet reads the connection's next messages; at most
///   <c>Broker:ReceiveMaximum</c> appends of a connection are in flight. A message that cannot be made durable gets no
///   acknowledgement, nor does any later message of its connection, and the connection is closed (MQTT 5: DISCONNECT
///   0x80 first).</item>
/// </list>
/// </summary>
public sealed class ProtocolGuardServerAdapter(IMqttServerAdapter inner, BrokerOptions settings, ConnectionRefusals connectionRefusals, RefusalLog refusals, TimeProvider time) : IMqttServerAdapter
{
    readonly BrokerOptions options = settings;
    readonly ConnectionRefusals connectionRefusals = connectionRefusals;
    readonly RefusalLog refusals = refusals;
    readonly TimeProvider time = time;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        inner.ClientHandler = async channel =>
        {
            if (ClientHandler is { } handler)
            {
                using var guard = new Guard(channel, this);
                await handler(guard);
            }
        };
        return inner.StartAsync(options, logger);
    }

    public Task StopAsync() => inner.StopAsync();

    public void Dispose() => inner.Dispose();

    /// <summary>A token bucket that refills continuously; its refill is computed when asked, so it holds no timer.</summary>
    static TokenBucketRateLimiter Bucket(int perSecond, int burst)
    {
        // About ten refills a second (a waiting connection is looked at again after one), each of a whole number of tokens.
        var tokens = Math.Max(1, (perSecond + 9) / 10);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerSecond * tokens / perSecond),
            QueueLimit = 0,
            AutoReplenishment = false,
        });
    }

    sealed class Guard : Transport.DelegatingChannelAdapter, IHeldAcknowledgements
    {
        readonly IMqttChannelAdapter inner;
        readonly ProtocolGuardServerAdapter owner;
        readonly CancellationTokenSource connectDeadline;
        readonly object sync = new();

        /// <summary>QoS 2 packet identifiers received and not yet released, with the PUBREC sent for each (once sent).</summary>
        readonly Dictionary<ushort, MqttPubRecPacket?> awaitingRelease = [];

        /// <summary>PUBRELs for identifiers that were not awaiting release, whose PUBCOMP has not gone out yet.</summary>
        readonly HashSet<ushort> unknownReleases = [];

        /// <summary>
        /// QoS 1/2 PUBLISH packets handed on whose PUBACK/PUBREC has not gone out, oldest first, each with the
        /// durability its acknowledgement waits for (none for a refused message). Guarded by <see cref="sync"/>.
        /// </summary>
        readonly LinkedList<Unacknowledged> unacknowledged = [];

        /// <summary>The durability of held messages, oldest first; touched by the receive loop only (the interceptor runs in it).</summary>
        readonly Queue<Task<bool>> appending = new();

        /// <summary>Cancelled when a held message could not be made durable: the receive loop stops and the connection closes.</summary>
        readonly CancellationTokenSource aborted = new();

        /// <summary>The PUBLISH handed on last, while its interceptor may still hold its acknowledgement.</summary>
        Unacknowledged? lastHandedOn;

        CancellationTokenSource? receiving;
        CancellationToken receivingFor;
        bool failed;

        MqttConnectPacket? connect;
        ushort serverKeepAlive;
        TokenBucketRateLimiter? messages;
        TokenBucketRateLimiter? bytes;
        int owedBytes;
        bool owesMessage;
        long? throttledSince;

        public Guard(IMqttChannelAdapter inner, ProtocolGuardServerAdapter owner)
            : base(inner)
        {
            this.inner = inner;
            this.owner = owner;
            connectDeadline = new CancellationTokenSource(owner.options.ConnectTimeout, owner.time);
        }

        BrokerOptions Options => owner.options;

        string ClientId => connect?.ClientId ?? "";

        bool IsV5 => inner.PacketFormatterAdapter.ProtocolVersion == MqttProtocolVersion.V500;

        public override async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            if (connect is null)
            {
                return await ReceiveFirstAsync(cancellationToken);
            }

            cancellationToken = Receiving(cancellationToken);
            if (cancellationToken.IsCancellationRequested)
            {
                return null!; // a held message failed: MQTTnet ends a connection whose next packet is missing
            }

            await PayForLastPublishAsync(cancellationToken);
            while (true)
            {
                var packet = await inner.ReceivePacketAsync(cancellationToken);
                lock (sync)
                {
                    lastHandedOn = null;
                }

                switch (packet)
                {
                    case MqttPublishPacket publish when publish.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce && publish.PacketIdentifier == 0:
                        owner.refusals.Record(ClientId, publish.Topic ?? "", new Refusal(RefusalReason.InvalidPacketId,
                            $"a QoS {(int)publish.QualityOfServiceLevel} PUBLISH needs a packet identifier other than 0; the connection is closed"));
                        await CloseAsync(MqttDisconnectReasonCode.ProtocolError, "packet identifier 0", cancellationToken);
                        throw new MqttCommunicationException("QoS > 0 PUBLISH with packet identifier 0");

                    case MqttPublishPacket publish when IsBeyondBounds(publish, out var refusal, out var disconnect):
                        await RefuseAndCloseAsync(publish, refusal, disconnect, cancellationToken);
                        throw new MqttCommunicationException(refusal.Detail);
                    case MqttPublishPacket { QualityOfServiceLevel: MqttQualityOfServiceLevel.ExactlyOnce } publish when IsResend(publish.PacketIdentifier, out var pubRec):
                        owner.refusals.Record(ClientId, publish.Topic ?? "", new Refusal(RefusalReason.Qos2Duplicate,
                            $"QoS 2 packet {publish.PacketIdentifier} was sent again before its PUBREL; it is processed once, its PUBREC sent again"));
                        if (pubRec is not null)
                        {
                            await inner.SendPacketAsync(pubRec, cancellationToken);
                        }

                        continue; // the resend is not handed on; the first one's PUBREC is on its way if not sent yet

                    case MqttPublishPacket publish:
                        owesMessage = true;
                        owedBytes = (int)Math.Min(int.MaxValue, publish.Payload.Length + (publish.Topic?.Length ?? 0));
                        if (publish.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce)
                        {
                            lock (sync)
                            {
                                lastHandedOn = unacknowledged.AddLast(new Unacknowledged(publish.PacketIdentifier)).Value;
                            }
                        }

                        return publish;

                    case MqttPubRelPacket release:
                        lock (sync)
                        {
                            if (!awaitingRelease.Remove(release.PacketIdentifier))
                            {
                                unknownReleases.Add(release.PacketIdentifier);
                                owner.refusals.Record(ClientId, "", new Refusal(RefusalReason.PacketIdNotFound,
                                    $"PUBREL for packet {release.PacketIdentifier}, which is not awaiting release; answered with PUBCOMP packet identifier not found"));
                            }
                        }

                        return release;

                    default:
                        return packet;
                }
            }
        }

        /// <summary>The first packet: CONNECT within the deadline, or the connection ends.</summary>
        async Task<MqttPacket> ReceiveFirstAsync(CancellationToken cancellationToken)
        {
            MqttPacket? packet;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectDeadline.Token))
            {
                try
                {
                    packet = await inner.ReceivePacketAsync(deadline.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    packet = null;
                }
            }

            var timedOut = connectDeadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
            await connectDeadline.CancelAsync(); // stops its timer either way
            if (packet is null)
            {
                if (timedOut)
                {
                    owner.connectionRefusals.Record(ConnectionRefusals.ConnectTimeout, inner.RemoteEndPoint,
                        $"no CONNECT within {Options.ConnectTimeout.TotalSeconds:0.#} s of the TCP accept (Broker:ConnectTimeout)");
                }

                return null!; // MQTTnet closes a connection whose first packet is missing
            }

            if (packet is not MqttConnectPacket connectPacket)
            {
                return packet; // not reached: FrameLimitingStream refuses a first packet other than CONNECT (and MQTTnet would close it)
            }

            connect = connectPacket;
            var max = (ushort)Options.MaxKeepAlive;
            if (connectPacket.KeepAlivePeriod == 0 || connectPacket.KeepAlivePeriod > max)
            {
                connectPacket.KeepAlivePeriod = max;
                serverKeepAlive = max;
            }

            messages = Bucket(Options.MaxMessagesPerSecondPerConnection, Options.MessageBurstPerConnection);
            bytes = Bucket(Options.MaxBytesPerSecondPerConnection, Options.ByteBurstPerConnection);
            return connectPacket;
        }

        /// <summary>
        /// The memory bounds of a PUBLISH, checked before MQTTnet keeps anything of it: its topic's length
        /// (<c>Broker:MaxTopicLength</c>; an aliased topic is kept for the connection's life) and, for a new QoS 2
        /// packet identifier, the number awaiting PUBREL (<c>Broker:ReceiveMaximum</c>, advertised in CONNACK).
        /// </summary>
        bool IsBeyondBounds(MqttPublishPacket publish, out Refusal refusal, out MqttDisconnectReasonCode disconnect)
        {
            var topicBytes = publish.Topic is { } topic ? System.Text.Encoding.UTF8.GetByteCount(topic) : 0;
            if (topicBytes > Options.MaxTopicLength)
            {
                refusal = new Refusal(RefusalReason.TopicTooLong,
                    $"the topic has {topicBytes} bytes, more than Broker:MaxTopicLength ({Options.MaxTopicLength}); the connection is closed");
                disconnect = MqttDisconnectReasonCode.TopicNameInvalid;
                return true;
            }

            if (publish.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
            {
                lock (sync)
                {
                    if (!awaitingRelease.ContainsKey(publish.PacketIdentifier) && awaitingRelease.Count >= Options.ReceiveMaximum)
                    {
                        refusal = new Refusal(RefusalReason.ReceiveMaximumExceeded,
                            $"more than Broker:ReceiveMaximum ({Options.ReceiveMaximum}) QoS 2 messages awaiting PUBREL; the connection is closed");
                        disconnect = MqttDisconnectReasonCode.ReceiveMaximumExceeded;
                        return true;
                    }
                }
            }

            refusal = default;
            disconnect = default;
            return false;
        }

        /// <summary>Counts and logs the refusal (the topic shortened, as the log takes it), and says why on MQTT 5.</summary>
        async Task RefuseAndCloseAsync(MqttPublishPacket publish, Refusal refusal, MqttDisconnectReasonCode disconnect, CancellationToken cancellationToken)
        {
            var topic = publish.Topic ?? "";
            owner.refusals.Record(ClientId, topic.Length > 200 ? topic[..200] : topic, refusal);
            await CloseAsync(disconnect, refusal.Code, cancellationToken);
        }

        bool IsResend(ushort packetId, out MqttPubRecPacket? pubRec)
        {
            lock (sync)
            {
                if (awaitingRelease.TryGetValue(packetId, out pubRec))
                {
                    return true;
                }

                awaitingRelease[packetId] = null;
                return false;
            }
        }

        /// <summary>Takes the last PUBLISH's message and bytes from the buckets, waiting (not reading) until they allow it.</summary>
        async Task PayForLastPublishAsync(CancellationToken cancellationToken)
        {
            if (!owesMessage || messages is null || bytes is null)
            {
                return;
            }

            owesMessage = false;
            var waited = await TakeAsync(messages, 1, cancellationToken);
            waited |= await TakeAsync(bytes, Math.Min(owedBytes, Options.ByteBurstPerConnection), cancellationToken);
            if (!waited
                && messages.GetStatistics()?.CurrentAvailablePermits >= Options.MessageBurstPerConnection / 2
                && bytes.GetStatistics()?.CurrentAvailablePermits >= Options.ByteBurstPerConnection / 2)
            {
                throttledSince = null; // back under its rate: the allowance has recovered
            }
        }

        async Task<bool> TakeAsync(TokenBucketRateLimiter bucket, int count, CancellationToken cancellationToken)
        {
            var waited = false;
            while (true)
            {
                bucket.TryReplenish();
                using (var lease = bucket.AttemptAcquire(count))
                {
                    if (lease.IsAcquired)
                    {
                        return waited;
                    }

                    waited = true;
                    var now = owner.time.GetTimestamp();
                    var since = throttledSince ??= now;
                    if (owner.time.GetElapsedTime(since, now) >= Options.RateLimitDisconnectAfter)
                    {
                        owner.refusals.Record(ClientId, "", new Refusal(RefusalReason.RateLimited,
                            $"above Broker:MaxMessagesPerSecondPerConnection ({Options.MaxMessagesPerSecondPerConnection}) or Broker:MaxBytesPerSecondPerConnection ({Options.MaxBytesPerSecondPerConnection}) for {Options.RateLimitDisconnectAfter.TotalSeconds:0.#} s (Broker:RateLimitDisconnectAfter); the connection is closed, nothing unacknowledged was taken"));
                        await CloseAsync(MqttDisconnectReasonCode.MessageRateTooHigh, "message rate too high", cancellationToken);
                        throw new MqttCommunicationException("rate limited for too long");
                    }

                    var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMilliseconds(100);
                    await Task.Delay(retryAfter, owner.time, cancellationToken);
                }
            }
        }

        /// <summary>MQTT 5: says why before the connection closes (MQTT 3.1.1 has no server DISCONNECT).</summary>
        async Task CloseAsync(MqttDisconnectReasonCode reason, string text, CancellationToken cancellationToken)
        {
            if (!IsV5)
            {
                return;
            }

            try
            {
                await inner.SendPacketAsync(new MqttDisconnectPacket { ReasonCode = reason, ReasonString = text }, cancellationToken);
            }
            catch (Exception ex) when (ex is MqttCommunicationException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                // the connection is closing anyway
            }
        }

        public override async Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
        {
            if (packet is MqttPubAckPacket or MqttPubRecPacket
                && !await MayAcknowledgeAsync(((MqttPacketWithIdentifier)packet).PacketIdentifier, cancellationToken))
            {
                return; // not durable: neither this acknowledgement nor a later one goes out
            }

            switch (packet)
            {
                case MqttConnAckPacket connAck when IsV5:
                    connAck.ServerKeepAlive = serverKeepAlive != 0 ? serverKeepAlive : connAck.ServerKeepAlive;
                    connAck.ReceiveMaximum = (ushort)Options.ReceiveMaximum;
                    break;

                case MqttPubRecPacket pubRec:
                    lock (sync)
                    {
                        if (awaitingRelease.ContainsKey(pubRec.PacketIdentifier))
                        {
                            if ((int)pubRec.ReasonCode >= 0x80)
                            {
                                awaitingRelease.Remove(pubRec.PacketIdentifier); // an error PUBREC ends the exchange (MQTT 5 §4.3.3)
                            }
                            else
                            {
                                awaitingRelease[pubRec.PacketIdentifier] = pubRec;
                            }
                        }
                    }

                    break;

                case MqttPubCompPacket pubComp:
                    lock (sync)
                    {
                        if (unknownReleases.Remove(pubComp.PacketIdentifier) && IsV5)
                        {
                            pubComp.ReasonCode = MqttPubCompReasonCode.PacketIdentifierNotFound;
                        }
                    }

                    break;
            }

            await inner.SendPacketAsync(packet, cancellationToken);
        }

        /// <summary>
        /// The link of the receive loop's token with <see cref="aborted"/>, made once per connection (MQTTnet's receive
        /// loop passes the same token every time) instead of once per packet.
        /// </summary>
        CancellationToken Receiving(CancellationToken connection)
        {
            if (receiving is null || connection != receivingFor)
            {
                var previous = receiving;
                receiving = CancellationTokenSource.CreateLinkedTokenSource(connection, aborted.Token);
                receivingFor = connection;
                previous?.Dispose();
            }

            return receiving.Token;
        }

        public bool Serves(CancellationToken connection) => receiving is not null && connection == receivingFor;

        public bool TryHold(Task<bool> durable)
        {
            ArgumentNullException.ThrowIfNull(durable);
            lock (sync)
            {
                if (lastHandedOn is not { Durable: null } last)
                {
                    return false;
                }

                last.Durable = durable;
                lastHandedOn = null;
            }

            appending.Enqueue(durable);
            return true;
        }

        public async ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
        {
            while (appending.TryPeek(out var oldest) && (oldest.IsCompleted || appending.Count >= Options.ReceiveMaximum))
            {
                _ = appending.Dequeue();
                if (!oldest.IsCompleted)
                {
                    // Its outcome is acted on where its acknowledgement is sent; here only the room counts.
                    await oldest.WaitAsync(cancellationToken);
                }
            }
        }

        /// <summary>
        /// Before a PUBACK/PUBREC goes out: waits until the message it acknowledges is durable. If it is not, the
        /// connection is closed (MQTT 5: DISCONNECT 0x80 first) and no acknowledgement of it goes out any more, so the
        /// device sends this message and every later one again. (Counted and logged where the append was made.)
        /// </summary>
        async ValueTask<bool> MayAcknowledgeAsync(ushort packetId, CancellationToken cancellationToken)
        {
            Task<bool>? durable = null;
            lock (sync)
            {
                // Normally the oldest one: MQTTnet sends acknowledgements in the order of the publishes. One not found
                // here was not held (e.g. a taken-over connection's, whose interceptor awaited durability itself).
                for (var node = unacknowledged.First; node is not null; node = node.Next)
                {
                    if (node.Value.PacketId == packetId)
                    {
                        durable = node.Value.Durable;
                        unacknowledged.Remove(node);
                        break;
                    }
                }
            }

            if (failed)
            {
                return false;
            }

            if (durable is null || await durable.WaitAsync(cancellationToken))
            {
                return true;
            }

            failed = true;
            await CloseAsync(MqttDisconnectReasonCode.UnspecifiedError, "not stored; send again", cancellationToken);
            try
            {
                await aborted.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // the connection has ended meanwhile
            }

            return false;
        }

        /// <summary>A QoS 1/2 PUBLISH handed on, and what its acknowledgement waits for.</summary>
        sealed class Unacknowledged(ushort packetId)
        {
            public ushort PacketId { get; } = packetId;

            public Task<bool>? Durable { get; set; }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                receiving?.Dispose();
                aborted.Dispose();
                connectDeadline.Dispose();
                messages?.Dispose();
                bytes?.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
