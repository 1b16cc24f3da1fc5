using System.Collections;
using MQTTnet.Adapter;

namespace Telemetry.Broker;

/// <summary>
/// The acknowledgements of one MQTT connection as the publish interceptor sees them; implemented by the connection's
/// <see cref="ProtocolGuardServerAdapter"/> channel adapter, which sees every packet received and sent.
/// <para>
/// Why this works (MQTTnet 5.2, <c>MqttConnectedClient</c>): a connection's receive loop reads the next packet only after
/// the publish interceptor of the previous one returned, then queues its PUBACK (QoS 1) or PUBREC (QoS 2) on the
/// session's control queue, which one send loop empties in order through the channel adapter. So the interceptor may
/// return as soon as a message is queued for the spool: the channel adapter knows which PUBLISH it handed on last, and
/// holds that PUBLISH's acknowledgement until the message is durable. Acknowledgements leave in order, and several
/// messages of one connection share a group fsync.
/// </para>
/// </summary>
public interface IHeldAcknowledgements
{
    /// <summary>
    /// True when this is the connection whose receive loop runs with <paramref name="connection"/> (the interceptor's
    /// cancellation token): after a session takeover the session items are shared with another connection.
    /// </summary>
    bool Serves(CancellationToken connection);

    /// <summary>
    /// Holds the PUBACK or PUBREC of the QoS 1/2 PUBLISH handed on last until <paramref name="durable"/> completes: with
    /// true it is sent; with false neither it nor any later acknowledgement of the connection is sent, and the
    /// connection is closed. False when no PUBLISH waits for a hold (the caller then awaits durability itself).
    /// </summary>
    bool TryHold(Task<bool> durable);

    /// <summary>
    /// With <c>Broker:ReceiveMaximum</c> appends of this connection not yet durable, waits for the oldest ones, so that
    /// fewer are in flight when the next packet is read.
    /// </summary>
    ValueTask WaitForRoomAsync(CancellationToken cancellationToken);
}

/// <summary>Where a connection's <see cref="IHeldAcknowledgements"/> is kept: in its MQTT session items.</summary>
public static class HeldAcknowledgements
{
    static readonly object Key = new();

    /// <summary>The held acknowledgements of a channel adapter MQTTnet was given (found under the adapters that wrap it).</summary>
    public static IHeldAcknowledgements? Of(IMqttChannelAdapter adapter) =>
        Transport.DelegatingChannelAdapter.Find<IHeldAcknowledgements>(adapter);

    public static void StoreIn(IDictionary sessionItems, IHeldAcknowledgements? held)
    {
        ArgumentNullException.ThrowIfNull(sessionItems);
        sessionItems[Key] = held;
    }

    /// <summary>
    /// The held acknowledgements in <paramref name="sessionItems"/> if they are those of the connection running with
    /// <paramref name="connection"/>; null otherwise (then nothing can be held and the caller awaits durability itself).
    /// </summary>
    public static IHeldAcknowledgements? In(IDictionary sessionItems, CancellationToken connection) =>
        sessionItems?[Key] is IHeldAcknowledgements held && held.Serves(connection) ? held : null;
}
