using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Options;
using Telemetry.Broker;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Alerts;
using Telemetry.Service.Cluster;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Delivers alert steps over MQTT — <c>campus/alerts/{building}/{room}/{sensor}/{rule}</c>, retained while the alert
/// is active, the retained message removed when it clears. (Webhooks and other destinations have their own durable
/// outboxes: <see cref="Telemetry.Grains.Alerts.Delivery.AlertOutboxGrain"/>.)
/// <para>
/// MQTT: every node's broker has its own subscribers and retained messages, so every node publishes every step, from
/// whichever node's sensor grain raised it. The alert index numbers each step and pushes it to this node's observer;
/// this notifier subscribes at start and renews every <see cref="RenewInterval"/>, each time catching up from the
/// index's log after the last sequence number it published. Numbers it has published are ignored (exactly once per
/// node), and it publishes in number order. When the steps it missed are no longer in the log (or at start) it
/// publishes every active alert again, retained, and removes the retained messages of alerts no longer active.
/// </para>
/// </summary>
public sealed class AlertNotifier(
    MqttBroker broker,
    IGrainFactory grains,
    IOptions<AlertOptions> options,
    IOptions<SiloOptions> silo,
    TelemetryMetrics metrics,
    ILogger<AlertNotifier> logger) : BackgroundService
{
    /// <summary>How often this node renews its subscription at the alert index and catches up (the index drops an observer after <see cref="AlertIndexGrain.ObserverExpiry"/>).</summary>
    public static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(5);

    // Pushed steps, and null for "renew now": one reader handles both, so publishing stays in sequence order.
    readonly Channel<SequencedAlertStep?> work = Channel.CreateUnbounded<SequencedAlertStep?>(new UnboundedChannelOptions { SingleReader = true });
    readonly HashSet<string> retainedTopics = new(StringComparer.Ordinal);
    readonly LogThrottle problemLog = new(TimeSpan.FromSeconds(30), TimeProvider.System);
    long lastSeq = -1;
    int renewQueued;

    /// <summary>The newest alert index sequence number this node has published (-1 before its first subscription).</summary>
    public long LastSeq => Interlocked.Read(ref lastSeq);

    public string TopicOf(AlertInfo alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return $"{options.Value.MqttTopicRoot}/{alert.Building}/{alert.Room}/{alert.Sensor}/{alert.Rule}";
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The runtime holds the observer object weakly: the local keeps it alive while the loop runs.
        var receiver = new StepReceiver(work.Writer);
        var observer = grains.CreateObjectReference<IAlertStepObserver>(receiver);
        try
        {
            var renewals = RequestRenewalsAsync(stoppingToken);
            await foreach (var item in work.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    if (item is null)
                    {
                        Interlocked.Exchange(ref renewQueued, 0);
                        await RenewAsync(observer, stoppingToken);
                    }
                    else
                    {
                        await OnPushedAsync(item, observer, stoppingToken);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Nothing is skipped: lastSeq moves only past what was handled, so the next renewal tries again.
                    logger.LogError(ex, "MQTT alert delivery failed; it resumes at the next renewal");
                }
            }

            await renewals;
        }
        finally
        {
            grains.DeleteObjectReference<IAlertStepObserver>(observer);
            GC.KeepAlive(receiver);
        }
    }

    async Task RequestRenewalsAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RenewInterval);
        try
        {
            do
            {
                QueueRenewal();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    void QueueRenewal()
    {
        if (Interlocked.Exchange(ref renewQueued, 1) == 0)
        {
            work.Writer.TryWrite(null);
        }
    }

    async Task OnPushedAsync(SequencedAlertStep pushed, IAlertStepObserver observer, CancellationToken cancellationToken)
    {
        if (pushed.Seq <= lastSeq)
        {
            return; // already published (caught up from the log, or pushed twice)
        }

        if (pushed.Seq > lastSeq + 1)
        {
            // Steps between are missing (lost or still on their way): catch up from the log, which holds this one too.
            // If the index does not answer, the next renewal catches up, in order.
            await RenewAsync(observer, cancellationToken);
            return;
        }

        await PublishStepAsync(pushed.Step, cancellationToken);
        Interlocked.Exchange(ref lastSeq, pushed.Seq);
    }

    async Task RenewAsync(IAlertStepObserver observer, CancellationToken cancellationToken)
    {
        AlertFeed feed;
        try
        {
            feed = await grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).Subscribe(silo.Value.EffectiveNodeName, observer, lastSeq);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (problemLog.ShouldLog("subscribe", out var suppressed))
            {
                logger.LogWarning("Could not subscribe to the alert index for MQTT alert delivery ({Error}); retrying every {Interval} ({Suppressed} more since the last such line)",
                    ex.Message, RenewInterval, suppressed);
            }

            return;
        }

        if (feed.Active is { } active)
        {
            await ResyncAsync(feed, active, cancellationToken);
            return;
        }

        foreach (var step in feed.Steps)
        {
            if (step.Seq != lastSeq + 1)
            {
                continue; // not after ours (cannot happen: the index answers with the steps right after lastSeq)
            }

            metrics.AlertFanoutCatchUpSteps.Add(1);
            await PublishStepAsync(step.Step, cancellationToken);
            Interlocked.Exchange(ref lastSeq, step.Seq);
        }
    }

    /// <summary>Publishes every active alert again, retained, and removes the retained messages of the alerts this node published that are no longer active.</summary>
    async Task ResyncAsync(AlertFeed feed, IReadOnlyList<AlertInfo> active, CancellationToken cancellationToken)
    {
        if (lastSeq < 0)
        {
            logger.LogInformation("Subscribed to the alert index at step {Seq}; publishing the {Count} active alert(s) again, retained", feed.LastSeq, active.Count);
        }
        else
        {
            // The steps between were not published one by one: subscribers that were connected missed them; the
            // retained messages (what a subscriber sees when it arrives) are right again after this.
            var reason = feed.Gap ?? "unknown";
            metrics.AlertFanoutGaps.Add(1, new KeyValuePair<string, object?>("reason", reason));
            logger.LogWarning("Alert steps {From}..{To} are no longer in the alert index's log ({Reason}); they are not published one by one, the {Count} active alert(s) are published again, retained",
                lastSeq + 1, feed.LastSeq, reason, active.Count);
        }

        var activeTopics = new HashSet<string>(active.Select(TopicOf), StringComparer.Ordinal);
        foreach (var alert in active)
        {
            await PublishStepAsync(new AlertStep(alert.State == AlertState.Acknowledged ? AlertEvent.Acknowledged : AlertEvent.Raised, alert.RaisedAtMs, alert), cancellationToken);
        }

        foreach (var topic in retainedTopics.Where(t => !activeTopics.Contains(t)).ToList())
        {
            try
            {
                await RemoveRetainedAsync(topic, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                metrics.AlertFanoutGaps.Add(1, new KeyValuePair<string, object?>("reason", "publish_failed"));
                logger.LogError("Could not remove the retained alert message of {Topic}: {Error}", Text.ForLog(topic), ex.Message);
            }
        }

        Interlocked.Exchange(ref lastSeq, feed.LastSeq);
    }

    async Task PublishStepAsync(AlertStep step, CancellationToken cancellationToken)
    {
        var topic = TopicOf(step.Alert);
        var active = step.Alert.IsActive;
        try
        {
            await broker.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(AlertPayload.Serialize(step))
                .WithContentType("application/json")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainFlag(active)
                .Build(), cancellationToken);
            if (active)
            {
                retainedTopics.Add(topic);
            }
            else
            {
                await RemoveRetainedAsync(topic, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The step is in the alert index and in InfluxDB; this node's MQTT subscribers miss this one message.
            metrics.AlertFanoutGaps.Add(1, new KeyValuePair<string, object?>("reason", "publish_failed"));
            if (problemLog.ShouldLog("publish_failed", out var suppressed))
            {
                logger.LogError("Could not publish alert {AlertId} ({Event}) over MQTT: {Error} ({Suppressed} more since the last such line)",
                    step.Alert.Id, step.Event, ex.Message, suppressed);
            }
        }
    }

    async Task RemoveRetainedAsync(string topic, CancellationToken cancellationToken)
    {
        // An empty retained payload deletes the retained message: a subscriber arriving later sees no alert.
        await broker.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag()
            .Build(), cancellationToken);
        retainedTopics.Remove(topic);
    }

    /// <summary>This node's observer at the alert index: queues what it is pushed, so the index's call returns at once.</summary>
    sealed class StepReceiver(ChannelWriter<SequencedAlertStep?> writer) : IAlertStepObserver
    {
        public Task OnStep(long seq, AlertStep alertStep)
        {
            writer.TryWrite(new SequencedAlertStep(seq, alertStep));
            return Task.CompletedTask;
        }
    }
}
