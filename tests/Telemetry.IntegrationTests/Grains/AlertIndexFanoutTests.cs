using System.Collections.Concurrent;
using Telemetry.Contracts;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// The alert index's fan-out to node observers (<see cref="IAlertIndexGrain.Subscribe"/>), on a real silo, with
/// observers created by the test's client. Each test uses its own index (the grain's key), not the campus one.
/// </summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class AlertIndexFanoutTests(GrainClusterFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    IAlertIndexGrain NewIndex() => fixture.Grains.GetGrain<IAlertIndexGrain>($"fanout-{Guid.NewGuid():N}");

    static AlertStep Raised(string sensor, long atMs) => new(AlertEvent.Raised, atMs,
        new AlertInfo($"{sensor}/hot/{atMs}", "b", "r", sensor, "hot", AlertRuleType.Threshold, AlertSeverity.Warning, AlertState.Active, atMs, 60, "hot", null, null, null, null, null, false));

    static AlertStep Cleared(AlertStep raised, long atMs) => new(AlertEvent.Cleared, atMs,
        raised.Alert with { State = AlertState.Cleared, ClearedAtMs = atMs, ClearedBy = "auto" });

    [Fact]
    public async Task A_subscribed_observer_is_pushed_each_step_with_consecutive_numbers_and_can_catch_up()
    {
        var index = NewIndex();
        var observer = new Observer();
        var reference = fixture.Grains.CreateObjectReference<IAlertStepObserver>(observer);
        try
        {
            var first = await index.Subscribe("node-1", reference, -1);
            Assert.Equal((0L, "first_subscription"), (first.LastSeq, first.Gap));
            Assert.Empty(first.Active!);

            var s1 = Raised("s1", 1000);
            await index.Record(s1);
            await index.Record(Raised("s2", 2000));
            await index.Record(Cleared(s1, 3000));

            var pushed = await Poll.UntilAsync("three pushed steps", () => Task.FromResult(observer.Received.ToList()), r => r.Count >= 3,
                within: TimeSpan.FromSeconds(30), show: r => string.Join(", ", r.Select(s => $"{s.Seq}:{s.Step.Event}")), cancellationToken: Ct);
            Assert.Equal([(1L, AlertEvent.Raised), (2L, AlertEvent.Raised), (3L, AlertEvent.Cleared)], pushed.OrderBy(s => s.Seq).Select(s => (s.Seq, s.Step.Event)));

            // Catch-up: the steps after the caller's number, in order; nothing after the newest.
            var caughtUp = await index.Subscribe("node-1", reference, 1);
            Assert.Null(caughtUp.Active);
            Assert.Equal([2L, 3L], caughtUp.Steps.Select(s => s.Seq));
            Assert.Empty((await index.Subscribe("node-1", reference, 3)).Steps);

            // A node that has seen numbers the index never gave (its state was reset) gets the active alerts instead.
            var behind = await index.Subscribe("node-1", reference, 10);
            Assert.Equal("index_behind", behind.Gap);
            Assert.Equal(["s2/hot/2000"], behind.Active!.Select(a => a.Id));
        }
        finally
        {
            fixture.Grains.DeleteObjectReference<IAlertStepObserver>(reference);
        }
    }

    [Fact]
    public async Task An_observer_that_does_not_answer_does_not_hold_Record_or_the_other_observers()
    {
        var index = NewIndex();
        var stuck = new Observer { Stuck = true };
        var healthy = new Observer();
        var stuckReference = fixture.Grains.CreateObjectReference<IAlertStepObserver>(stuck);
        var healthyReference = fixture.Grains.CreateObjectReference<IAlertStepObserver>(healthy);
        try
        {
            await index.Subscribe("stuck", stuckReference, -1);
            await index.Subscribe("healthy", healthyReference, -1);

            await index.Record(Raised("s1", 1000));
            await index.Record(Raised("s2", 2000));

            // Both Records returned although the stuck observer has not answered its first push.
            await Poll.UntilAsync("the healthy observer to get both steps", () => Task.FromResult(healthy.Received.Count), n => n == 2,
                within: TimeSpan.FromSeconds(30), cancellationToken: Ct);
            await Poll.UntilAsync("the stuck observer to have been called", () => Task.FromResult(stuck.Received.Count), n => n >= 1,
                within: TimeSpan.FromSeconds(30), cancellationToken: Ct);
            Assert.False(stuck.Release.Task.IsCompleted);
        }
        finally
        {
            stuck.Release.TrySetResult();
            fixture.Grains.DeleteObjectReference<IAlertStepObserver>(stuckReference);
            fixture.Grains.DeleteObjectReference<IAlertStepObserver>(healthyReference);
        }
    }

    sealed class Observer : IAlertStepObserver
    {
        public bool Stuck { get; init; }

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<SequencedAlertStep> Received { get; } = new();

        public Task OnStep(long seq, AlertStep alertStep)
        {
            Received.Enqueue(new SequencedAlertStep(seq, alertStep));
            return Stuck ? Release.Task : Task.CompletedTask;
        }
    }
}
