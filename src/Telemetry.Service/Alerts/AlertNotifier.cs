using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Options;
using Telemetry.Broker;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Delivers alert steps over MQTT — <c>campus/alerts/{building}/{room}/{sensor}/{rule}</c>, retained while the alert
/// is active, the retained message removed when it clears — and hands them to the webhook senders. Grains call
/// <see cref="Notify"/> after the step is persisted; delivery runs here, in order, off the grains' threads.
/// At start it publishes every active alert again, retained: the broker's retained messages live in memory only,
/// the alert index is what survives a restart.
/// </summary>
public sealed class AlertNotifier(
    MqttBroker broker,
    WebhookSender webhooks,
    IGrainFactory grains,
    IOptions<AlertOptions> options,
    ILogger<AlertNotifier> logger) : BackgroundService, IAlertNotifier
{
    readonly Channel<AlertStep> queue = Channel.CreateUnbounded<AlertStep>(new UnboundedChannelOptions { SingleReader = true });

    public void Notify(AlertStep alertStep)
    {
        ArgumentNullException.ThrowIfNull(alertStep);
        queue.Writer.TryWrite(alertStep);
        webhooks.Enqueue(alertStep);
    }

    public string TopicOf(AlertInfo alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return $"{options.Value.MqttTopicRoot}/{alert.Building}/{alert.Room}/{alert.Sensor}/{alert.Rule}";
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (var alert in await grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive())
            {
                await PublishAsync(new AlertStep(alert.State == AlertState.Acknowledged ? AlertEvent.Acknowledged : AlertEvent.Raised, alert.RaisedAtMs, alert), stoppingToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Could not publish the active alerts again after start");
        }

        await foreach (var step in queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await PublishAsync(step, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The step is in the alert index and in InfluxDB; MQTT subscribers miss this one message.
                logger.LogError("Could not publish alert {AlertId} ({Event}) over MQTT: {Error}", step.Alert.Id, step.Event, ex.Message);
            }
        }
    }

    async Task PublishAsync(AlertStep step, CancellationToken cancellationToken)
    {
        var topic = TopicOf(step.Alert);
        var active = step.Alert.IsActive;
        await broker.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(AlertPayload.Serialize(step))
            .WithContentType("application/json")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(active)
            .Build(), cancellationToken);
        if (!active)
        {
            // An empty retained payload deletes the retained message: a subscriber arriving later sees no alert.
            await broker.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainFlag()
                .Build(), cancellationToken);
        }
    }
}
