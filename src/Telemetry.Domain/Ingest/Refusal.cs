namespace Telemetry.Domain.Ingest;

/// <summary>Why a message was refused. The snake_case <see cref="RefusalReasons.Code"/> is what metrics and logs carry.</summary>
public enum RefusalReason
{
    /// <summary>The topic is not <c>campus/{building}/{room}/{sensor}/telemetry</c> (or <c>…/senml</c> where SenML is accepted).</summary>
    TopicNotAllowed,
    /// <summary>
    /// The topic name breaks MQTT's own rules: it holds a wildcard (<c>+</c>, <c>#</c>), a NUL, or text that was not
    /// valid UTF-8 (decoded as U+FFFD). MQTT 5 reason code 0x90 topic name invalid.
    /// </summary>
    InvalidTopicName,
    /// <summary>
    /// An MQTT 5 PUBLISH used a topic alias above the Topic Alias Maximum the broker advertised
    /// (<c>Broker:TopicAliasMaximum</c>): a protocol error, the connection is closed.
    /// </summary>
    TopicAliasInvalid,
    /// <summary>A PUBLISH with QoS 3, which MQTT forbids (a malformed packet): refused and the connection closed.</summary>
    InvalidQos,
    /// <summary>A building, room or sensor segment is empty, too long or holds control characters.</summary>
    InvalidTopicSegment,
    /// <summary>The payload has no bytes.</summary>
    EmptyPayload,
    /// <summary>The payload is larger than <c>Ingest:MaxPayloadBytes</c>.</summary>
    PayloadTooLarge,
    /// <summary>The payload is not well-formed UTF-8 JSON.</summary>
    MalformedJson,
    /// <summary>The JSON is neither a reading object nor an array of reading objects.</summary>
    NotAReading,
    /// <summary>A reading has no metrics, or a batch has no readings.</summary>
    NoMetrics,
    /// <summary>A metric value is not a JSON number (string, bool, null, object, array).</summary>
    NonNumericMetric,
    /// <summary>A metric value does not fit a finite double.</summary>
    NonFiniteMetric,
    /// <summary>A metric name is empty, too long, starts with '_', holds control characters or '\', or is repeated.</summary>
    InvalidMetricName,
    /// <summary>A metric is named <c>time</c> or like a tag key the schema writes (<c>sensor</c>, <c>unregistered</c>, …).</summary>
    MetricNameReserved,
    /// <summary>A reading has too many metrics, or a batch too many readings.</summary>
    TooManyValues,
    /// <summary><c>ts</c> is neither an RFC 3339 string with an offset nor an integer of epoch milliseconds.</summary>
    InvalidTimestamp,
    /// <summary><c>ts</c> lies further in the future or past than the configured limits.</summary>
    TimestampOutOfRange,
    /// <summary>A SenML record's unit is unknown, or cannot be converted to the unit the registry gives the metric.</summary>
    UnitMismatch,
    /// <summary>The sensor id is not in the campus registry and the registry says <c>unregistered: refuse</c>.</summary>
    SensorNotRegistered,
    /// <summary>
    /// The connection's identity may not publish for this sensor: not its own and not listed for it in the credential
    /// store (anonymous connections: <c>Broker:SensorAcl = OwnSensor</c> and another client id's sensor).
    /// </summary>
    SensorNotAllowed,
    /// <summary>A QoS 1 or 2 PUBLISH with packet identifier 0 (MQTT-2.2.1-3): a protocol error, the connection is closed.</summary>
    InvalidPacketId,
    /// <summary>
    /// A QoS 2 PUBLISH sent again with the packet identifier of one still awaiting its PUBREL: not processed a second
    /// time (exactly once); the first one's PUBREC is sent again.
    /// </summary>
    Qos2Duplicate,
    /// <summary>A PUBREL for a packet identifier that is not awaiting release: answered with PUBCOMP 0x92 (MQTT 5).</summary>
    PacketIdNotFound,
    /// <summary>
    /// The connection stayed above <c>Broker:MaxMessagesPerSecondPerConnection</c> or
    /// <c>Broker:MaxBytesPerSecondPerConnection</c> for <c>Broker:RateLimitDisconnectAfter</c>: closed (MQTT 5 0x96).
    /// </summary>
    RateLimited,
    /// <summary>A new metric name would give the sensor more than <c>Ingest:MaxMetricsPerSensor</c> metrics its kind does not list.</summary>
    SensorMetricLimit,
    /// <summary>A new metric name would give the kind more than <c>Ingest:MaxMetricsPerKind</c> metrics it does not list.</summary>
    KindMetricLimit,
    /// <summary>More unregistered sensors appeared this minute than <c>Ingest:MaxNewUnregisteredSensorsPerMinute</c>.</summary>
    TooManyNewSensors,
    /// <summary>The node has admitted <c>Ingest:MaxUnregisteredSensors</c> unregistered sensors since it started.</summary>
    UnregisteredSensorLimit,
    /// <summary>
    /// A registered sensor published under a building or room other than the registry's: refused so that a topic
    /// cannot invent series for it (MQTT 5 0x90 topic name invalid).
    /// </summary>
    WrongLocation,
    /// <summary>An unregistered sensor used more distinct building/room pairs this hour than <c>Ingest:MaxLocationsPerSensorPerHour</c>.</summary>
    SensorLocationLimit,
    /// <summary>A PUBLISH topic longer than <c>Broker:MaxTopicLength</c> UTF-8 bytes: the connection is closed (MQTT 5 0x90).</summary>
    TopicTooLong,
    /// <summary>A QoS 2 PUBLISH beyond <c>Broker:ReceiveMaximum</c> awaiting PUBREL: the connection is closed (MQTT 5 0x93).</summary>
    ReceiveMaximumExceeded,
    /// <summary>A PUBLISH under the alert topic root (<c>Alerts:MqttTopicRoot</c>): only the service publishes alerts.</summary>
    ForgedAlert,
}

/// <summary>A refused message: the reason and a sentence for the log and the MQTT 5 reason string.</summary>
public readonly record struct Refusal(RefusalReason Reason, string Detail)
{
    public string Code => RefusalReasons.Code(Reason);

    public override string ToString() => $"{Code}: {Detail}";
}

public static class RefusalReasons
{
    public static string Code(RefusalReason reason) => reason switch
    {
        RefusalReason.TopicNotAllowed => "topic_not_allowed",
        RefusalReason.InvalidTopicName => "invalid_topic_name",
        RefusalReason.InvalidQos => "invalid_qos",
        RefusalReason.TopicAliasInvalid => "topic_alias_invalid",
        RefusalReason.InvalidTopicSegment => "invalid_topic_segment",
        RefusalReason.EmptyPayload => "empty_payload",
        RefusalReason.PayloadTooLarge => "payload_too_large",
        RefusalReason.MalformedJson => "malformed_json",
        RefusalReason.NotAReading => "not_a_reading",
        RefusalReason.NoMetrics => "no_metrics",
        RefusalReason.NonNumericMetric => "non_numeric_metric",
        RefusalReason.NonFiniteMetric => "non_finite_metric",
        RefusalReason.InvalidMetricName => "invalid_metric_name",
        RefusalReason.MetricNameReserved => "metric_name_reserved",
        RefusalReason.TooManyValues => "too_many_values",
        RefusalReason.InvalidTimestamp => "invalid_timestamp",
        RefusalReason.TimestampOutOfRange => "timestamp_out_of_range",
        RefusalReason.UnitMismatch => "unit_mismatch",
        RefusalReason.SensorNotRegistered => "sensor_not_registered",
        RefusalReason.SensorNotAllowed => "sensor_not_allowed",
        RefusalReason.InvalidPacketId => "invalid_packet_id",
        RefusalReason.Qos2Duplicate => "qos2_duplicate",
        RefusalReason.PacketIdNotFound => "packet_id_not_found",
        RefusalReason.RateLimited => "rate_limited",
        RefusalReason.SensorMetricLimit => "sensor_metric_limit",
        RefusalReason.KindMetricLimit => "kind_metric_limit",
        RefusalReason.TooManyNewSensors => "too_many_new_sensors",
        RefusalReason.UnregisteredSensorLimit => "unregistered_sensor_limit",
        RefusalReason.ForgedAlert => "forged_alert",
        RefusalReason.WrongLocation => "wrong_location",
        RefusalReason.SensorLocationLimit => "sensor_location_limit",
        RefusalReason.TopicTooLong => "topic_too_long",
        RefusalReason.ReceiveMaximumExceeded => "receive_maximum_exceeded",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
