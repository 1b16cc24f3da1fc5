using System.Collections.Concurrent;
using MQTTnet;
using Telemetry.DeviceSim.Progress;

namespace Telemetry.DeviceSim.Devices;

/// <summary>Totals shared by all devices, updated concurrently.</summary>
sealed class SimulationCounters
{
    const int MaxErrorKinds = 32;
    const string OtherErrors = "(other errors)";

    readonly ConcurrentDictionary<MqttClientPublishReasonCode, long> _refusedByReason = new();
    readonly ConcurrentDictionary<string, long> _errors = new();
    long _messagesSent, _readingsSent, _messagesAcked, _readingsAcked, _messagesRefused;
    long _messagesFailed, _messagesAbandoned, _inFlight, _connectFailures, _reconnects;
    long _connectivityLosses, _readingsStored, _readingsSkipped, _readingsDropped, _malformedSent, _malformedRefused;

    public long MessagesSent => Interlocked.Read(ref _messagesSent);
    public long ReadingsSent => Interlocked.Read(ref _readingsSent);
    public long MessagesAcked => Interlocked.Read(ref _messagesAcked);
    public long ReadingsAcked => Interlocked.Read(ref _readingsAcked);
    public long MessagesRefused => Interlocked.Read(ref _messagesRefused);
    public long MessagesFailed => Interlocked.Read(ref _messagesFailed);
    public long MessagesAbandoned => Interlocked.Read(ref _messagesAbandoned);
    public long ConnectFailures => Interlocked.Read(ref _connectFailures);
    public long Reconnects => Interlocked.Read(ref _reconnects);
    public long ConnectivityLosses => Interlocked.Read(ref _connectivityLosses);
    public long ReadingsStored => Interlocked.Read(ref _readingsStored);
    public long ReadingsSkipped => Interlocked.Read(ref _readingsSkipped);
    public long ReadingsDropped => Interlocked.Read(ref _readingsDropped);
    public long MalformedSent => Interlocked.Read(ref _malformedSent);
    public long MalformedRefused => Interlocked.Read(ref _malformedRefused);
    public IReadOnlyDictionary<MqttClientPublishReasonCode, long> RefusedByReason => new Dictionary<MqttClientPublishReasonCode, long>(_refusedByReason);
    public IReadOnlyDictionary<string, long> Errors => new SortedDictionary<string, long>(_errors, StringComparer.Ordinal);

    public void Publishing(int readings)
    {
        Interlocked.Increment(ref _messagesSent);
        Interlocked.Add(ref _readingsSent, readings);
        Interlocked.Increment(ref _inFlight);
    }

    public void ConnectivityLost() => Interlocked.Increment(ref _connectivityLosses);
    public void Stored() => Interlocked.Increment(ref _readingsStored);
    public void Skipped() => Interlocked.Increment(ref _readingsSkipped);
    public void Dropped(long readings) => Interlocked.Add(ref _readingsDropped, readings);

    public void PublishingMalformed()
    {
        Interlocked.Increment(ref _messagesSent);
        Interlocked.Increment(ref _malformedSent);
        Interlocked.Increment(ref _inFlight);
    }

    public void MalformedWasRefused() => Interlocked.Increment(ref _malformedRefused);

    public void AckedMalformed() => Interlocked.Increment(ref _messagesAcked);

    public void Published() => Interlocked.Decrement(ref _inFlight);

    public void Acked(int readings)
    {
        Interlocked.Increment(ref _messagesAcked);
        Interlocked.Add(ref _readingsAcked, readings);
    }

    public void Refused(MqttClientPublishReasonCode reason)
    {
        Interlocked.Increment(ref _messagesRefused);
        _refusedByReason.AddOrUpdate(reason, 1, (_, n) => n + 1);
    }

    public void PublishFailed(string error)
    {
        Interlocked.Increment(ref _messagesFailed);
        Error("publish: " + error);
    }

    public void PublishAbandoned()
    {
        Interlocked.Increment(ref _messagesAbandoned);
        Error("publish: still waiting for the PUBACK when the drain timeout ended");
    }

    public void ConnectFailed(string error)
    {
        Interlocked.Increment(ref _connectFailures);
        Error("connect: " + error);
    }

    public void Reconnected() => Interlocked.Increment(ref _reconnects);

    public void Error(string kind)
    {
        var key = _errors.Count >= MaxErrorKinds && !_errors.ContainsKey(kind) ? OtherErrors : kind;
        _errors.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    public ProgressSnapshot Snapshot(TimeSpan elapsed, int devices, int connected, DateTimeOffset? simulatedTime = null) => new(
        elapsed, devices, connected, MessagesSent, ReadingsSent, MessagesAcked, MessagesRefused, MessagesFailed,
        Interlocked.Read(ref _inFlight), ConnectFailures, Reconnects)
    {
        SimulatedTime = simulatedTime,
        ReadingsStored = ReadingsStored,
        MalformedSent = MalformedSent,
    };

    /// <summary>An exception as an error kind: the innermost cause's type and message.</summary>
    public static string Describe(Exception exception)
    {
        var cause = exception.GetBaseException();
        return $"{cause.GetType().Name}: {cause.Message}";
    }
}
