using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Channel;

namespace Telemetry.Broker.Transport;

/// <summary>
/// A channel of the TLS listener. <see cref="MQTTnet.Implementations.MqttTcpChannel"/> decides
/// <see cref="IsSecureConnection"/> by the type of its stream (<c>stream is SslStream</c>), and the stream it reads
/// here is the <see cref="FrameLimitingStream"/> over the TLS stream, so this says it for it
/// (<c>ValidatingConnectionEventArgs.IsSecureConnection</c>). Everything else passes through.
/// </summary>
public sealed class SecureChannel(IMqttChannel inner) : IMqttChannel
{
    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => true;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken) => inner.WriteAsync(buffer, isEndOfPacket, cancellationToken);

    public void Dispose() => inner.Dispose();
}
