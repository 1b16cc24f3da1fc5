using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;

namespace Telemetry.Broker.Transport;

/// <summary>
/// An MQTTnet channel adapter that passes everything to the one underneath; the broker's per-connection checks
/// (<see cref="ClientIdAssigningServerAdapter"/>, <see cref="ProtocolGuardServerAdapter"/>) override only the packets
/// they look at.
/// </summary>
public abstract class DelegatingChannelAdapter(IMqttChannelAdapter inner) : IMqttChannelAdapter
{
    protected IMqttChannelAdapter Inner { get; } = inner;

    /// <summary>
    /// The first adapter that is a <typeparamref name="T"/> in the chain starting at <paramref name="adapter"/> and going
    /// down through delegating adapters (e.g. the <see cref="ProtocolGuardServerAdapter"/> under the
    /// <see cref="ClientIdAssigningServerAdapter"/> that MQTTnet sees), or null.
    /// </summary>
    public static T? Find<T>(IMqttChannelAdapter? adapter)
        where T : class
    {
        for (var at = adapter; at is not null; at = (at as DelegatingChannelAdapter)?.Inner)
        {
            if (at is T found)
            {
                return found;
            }
        }

        return null;
    }

    public long BytesReceived => Inner.BytesReceived;
    public long BytesSent => Inner.BytesSent;
    public X509Certificate2 ClientCertificate => Inner.ClientCertificate;
    public EndPoint RemoteEndPoint => Inner.RemoteEndPoint;
    public EndPoint LocalEndPoint => Inner.LocalEndPoint;
    public bool IsSecureConnection => Inner.IsSecureConnection;
    public MqttPacketFormatterAdapter PacketFormatterAdapter => Inner.PacketFormatterAdapter;

    public Task ConnectAsync(CancellationToken cancellationToken) => Inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => Inner.DisconnectAsync(cancellationToken);

    public void ResetStatistics() => Inner.ResetStatistics();

    public virtual Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken) => Inner.ReceivePacketAsync(cancellationToken);

    public virtual Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => Inner.SendPacketAsync(packet, cancellationToken);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }
    }
}
