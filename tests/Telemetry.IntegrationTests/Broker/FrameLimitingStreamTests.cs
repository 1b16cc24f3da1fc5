using MQTTnet.Exceptions;
using Telemetry.Broker.Transport;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>The transport's look at the first packet's raw bytes: CONNECT flags the specification forbids, and packets before CONNECT.</summary>
public sealed class FrameLimitingStreamTests
{
    [Theory]
    [InlineData(0x02, 5, null)]
    [InlineData(0xC2, 4, null)] // user name and password
    [InlineData(0x42, 5, null)] // password alone: allowed in MQTT 5
    [InlineData(0x2E, 4, null)] // will, QoS 1, retain
    [InlineData(0x03, 5, "the reserved connect flag is set")]
    [InlineData(0x1E, 4, "will QoS 3")]
    [InlineData(0x0A, 5, "will QoS or will retain set without the will flag")]
    [InlineData(0x22, 4, "will QoS or will retain set without the will flag")]
    [InlineData(0x42, 4, "a password without a user name (MQTT 3.1.1)")]
    public void Connect_flags_are_checked_as_the_specification_says(byte flags, byte level, string? problem) =>
        Assert.Equal(problem, FrameLimitingStream.ConnectFlagsProblem(flags, level));

    [Fact]
    public void A_good_CONNECT_read_one_byte_at_a_time_passes_and_so_do_the_packets_after_it()
    {
        // Only the first CONNECT's flags are inspected: a SUBSCRIBE's options byte 0x01 after it is not read as connect flags.
        byte[] bytes = [.. Connect(5, 0x02), 0xC0, 0x00, 0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, (byte)'x', 0x01];
        var refused = new List<string>();
        using var stream = new FrameLimitingStream(new MemoryStream(bytes), 1024, _ => { }, (reason, _) => refused.Add(reason));
        var one = new byte[1];
        while (stream.Read(one, 0, 1) > 0)
        {
        }

        Assert.Empty(refused);
    }

    [Theory]
    [InlineData(new byte[] { 0x10 }, "malformed_connect")]
    [InlineData(new byte[] { 0xC0, 0x00 }, "packet_before_connect")]
    [InlineData(new byte[] { 0x32, 0x05, 0x00, 0x01, (byte)'t', 0x00, 0x00 }, "packet_before_connect")]
    public void A_malformed_CONNECT_or_a_first_packet_other_than_CONNECT_fails_the_read_with_its_reason(byte[] start, string reason)
    {
        var bytes = start.Length == 1 ? Connect(4, 0x1E) : start;
        var refused = new List<string>();
        using var stream = new FrameLimitingStream(new MemoryStream(bytes), 1024, _ => { }, (r, _) => refused.Add(r));
        Assert.Throws<MqttProtocolViolationException>(() => stream.Read(new byte[64], 0, 64));
        Assert.Equal([reason], refused);
    }

    static byte[] Connect(byte level, byte flags)
    {
        byte[] properties = level == 5 ? [0] : [];
        byte[] body = [0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', level, flags, 0, 60, .. properties, 0, 1, (byte)'c'];
        return [0x10, (byte)body.Length, .. body];
    }
}
