using System.Text;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// MQTT packets as bytes, well-formed or deliberately not. Hand-written because a client library refuses to send
/// most of what the hostile corpus needs (wrong flags, invalid lengths, invalid UTF-8, QoS 3, stray acknowledgements).
/// </summary>
public static class MqttBytes
{
    /// <summary>Protocol level byte of CONNECT: 4 is MQTT 3.1.1, 5 is MQTT 5.0.</summary>
    public const byte V311 = 4;

    public const byte V5 = 5;

    public static readonly byte[] PingReq = [0xC0, 0x00];

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A fixed header byte, the remaining length as MQTT's variable byte integer, the body.</summary>
    public static byte[] Packet(byte header, byte[] body) => [header, .. VarInt(body.Length), .. body];

    /// <summary>A two-byte length prefix and the bytes (MQTT's UTF-8 string and binary data).</summary>
    public static byte[] Str(byte[] bytes) => [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];

    public static byte[] Str(string text) => Str(Utf8(text));

    public static byte[] VarInt(int value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            bytes.Add(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);

        return [.. bytes];
    }

    /// <summary>
    /// CONNECT: clean start, keep-alive 60 s unless given. <paramref name="flags"/> replaces the computed connect flags
    /// when set (to send reserved bits, will QoS 3 and the like); <paramref name="properties"/> are MQTT 5 CONNECT properties.
    /// </summary>
    public static byte[] Connect(
        byte version, byte[] clientId, byte[]? userName = null, byte[]? password = null, ushort keepAlive = 60,
        byte? flags = null, byte[]? properties = null, byte[]? willTopic = null, byte[]? willPayload = null, byte[]? protocolName = null,
        byte header = 0x10)
    {
        var computed = (byte)(0x02
            | (willTopic is not null ? 0x04 : 0)
            | (password is not null ? 0x40 : 0)
            | (userName is not null ? 0x80 : 0));
        byte[] props = version == V5 ? [.. VarInt((properties ?? []).Length), .. properties ?? []] : [];
        byte[] will = willTopic is null ? [] : [.. version == V5 ? [(byte)0] : Array.Empty<byte>(), .. Str(willTopic), .. Str(willPayload ?? [])];
        byte[] body =
        [
            .. Str(protocolName ?? "MQTT"u8.ToArray()), version, flags ?? computed, (byte)(keepAlive >> 8), (byte)keepAlive,
            .. props,
            .. Str(clientId),
            .. will,
            .. userName is null ? [] : Str(userName),
            .. password is null ? [] : Str(password),
        ];
        return Packet(header, body);
    }

    /// <summary>
    /// PUBLISH; the packet identifier is written when the header's QoS bits are not 0 (also for the invalid QoS 3).
    /// MQTT 5 connections (<paramref name="v5"/>) carry a properties length before the payload.
    /// </summary>
    public static byte[] Publish(byte header, byte[] topic, ushort packetId, byte[] payload, bool v5 = true, byte[]? properties = null)
    {
        byte[] id = (header & 0x06) != 0 ? [(byte)(packetId >> 8), (byte)packetId] : [];
        byte[] props = v5 ? [.. VarInt((properties ?? []).Length), .. properties ?? []] : [];
        return Packet(header, [.. Str(topic), .. id, .. props, .. payload]);
    }

    public static byte[] TopicAlias(ushort alias) => [0x23, (byte)(alias >> 8), (byte)alias];

    /// <summary>SUBSCRIBE of one filter with the given options byte (QoS in the low two bits).</summary>
    public static byte[] Subscribe(byte[] filter, byte options, ushort packetId = 1, bool v5 = true, byte header = 0x82) =>
        Packet(header, [(byte)(packetId >> 8), (byte)packetId, .. v5 ? [(byte)0] : Array.Empty<byte>(), .. Str(filter), options]);

    public static byte[] Unsubscribe(byte[]? filter, ushort packetId = 1, bool v5 = true, byte header = 0xA2) =>
        Packet(header, [(byte)(packetId >> 8), (byte)packetId, .. v5 ? [(byte)0] : Array.Empty<byte>(), .. filter is null ? [] : Str(filter)]);

    /// <summary>PUBACK, PUBREC, PUBREL or PUBCOMP (by header) for a packet identifier, with an MQTT 5 reason code when given.</summary>
    public static byte[] Ack(byte header, ushort packetId, byte? reasonCode = null) =>
        Packet(header, [(byte)(packetId >> 8), (byte)packetId, .. reasonCode is { } code ? [code] : Array.Empty<byte>()]);

    /// <summary>Reads an MQTT variable byte integer; the value and the index after it.</summary>
    public static (int Value, int Next) ReadVarInt(byte[] data, int at)
    {
        int value = 0, shift = 0;
        byte b;
        do
        {
            b = data[at++];
            value |= (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0 && shift < 28);

        return (value, at);
    }
}
