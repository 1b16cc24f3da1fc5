using System.Diagnostics;
using System.Text.Json;
using Telemetry.Tests.Polling;

namespace Telemetry.UnitTests.Polling;

public sealed class PollTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task At_the_deadline_it_fails_naming_what_it_waited_for_and_the_last_value()
    {
        var reads = 0;
        var error = await Assert.ThrowsAsync<TimeoutException>(() => Poll.UntilAsync(
            "the counter to reach 1000",
            () => Task.FromResult(++reads),
            n => n >= 1000,
            within: TimeSpan.FromMilliseconds(100),
            every: TimeSpan.FromMilliseconds(5),
            cancellationToken: Ct));

        Assert.Contains("waiting for the counter to reach 1000", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Last value: {reads}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"({reads} reads)", error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
    }

    [Fact]
    public async Task It_returns_the_first_value_that_fulfils_the_condition_without_waiting_for_the_deadline()
    {
        var reads = 0;
        var clock = Stopwatch.StartNew();

        var value = await Poll.UntilAsync("the third read", () => Task.FromResult(++reads), n => n >= 3, within: TimeSpan.FromMinutes(5), cancellationToken: Ct);

        Assert.Equal(3, value);
        Assert.Equal(3, reads);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_condition_that_holds_at_once_is_read_once()
    {
        var reads = 0;

        var value = await Poll.UntilAsync("anything", () => Task.FromResult(++reads), _ => true, within: TimeSpan.Zero, cancellationToken: Ct);

        Assert.Equal(1, value);
        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task A_read_that_throws_is_retried_and_its_last_exception_is_reported_at_the_deadline()
    {
        var reads = 0;
        var error = await Assert.ThrowsAsync<TimeoutException>(() => Poll.UntilAsync<int>(
            "the server to answer",
            () => throw new InvalidOperationException($"connection refused #{++reads}"),
            _ => true,
            within: TimeSpan.FromMilliseconds(100),
            every: TimeSpan.FromMilliseconds(5),
            cancellationToken: Ct));

        Assert.True(reads > 1, $"read {reads} times");
        Assert.Contains("waiting for the server to answer", error.Message, StringComparison.Ordinal);
        Assert.Contains("No read returned a value.", error.Message, StringComparison.Ordinal);
        Assert.Contains($"InvalidOperationException: connection refused #{reads}", error.Message, StringComparison.Ordinal);
        Assert.Equal($"connection refused #{reads}", Assert.IsType<InvalidOperationException>(error.InnerException).Message);
    }

    [Fact]
    public async Task A_read_that_throws_and_then_succeeds_counts_only_the_success()
    {
        var reads = 0;

        var value = await Poll.UntilAsync(
            "the second read",
            () => ++reads < 2 ? throw new InvalidOperationException("not yet") : Task.FromResult(reads),
            _ => true,
            cancellationToken: Ct);

        Assert.Equal(2, value);
    }

    [Fact]
    public async Task Both_the_last_value_and_a_later_exception_are_reported()
    {
        var reads = 0;
        var error = await Assert.ThrowsAsync<TimeoutException>(() => Poll.UntilAsync(
            "seven",
            () => ++reads == 1 ? Task.FromResult(6) : throw new IOException("gone"),
            n => n == 7,
            within: TimeSpan.FromMilliseconds(50),
            every: TimeSpan.FromMilliseconds(5),
            cancellationToken: Ct));

        Assert.Contains("Last value: 6", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Last exception (read {reads} of {reads}): IOException: gone", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collections_and_JSON_are_shown_readably_and_a_custom_formatter_wins()
    {
        var list = await Assert.ThrowsAsync<TimeoutException>(() => Poll.UntilAsync(
            "twelve items", () => Task.FromResult(Enumerable.Range(1, 11).ToList()), l => l.Count == 12, within: TimeSpan.Zero, cancellationToken: Ct));
        Assert.Contains("Last value: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …] (11 items)", list.Message, StringComparison.Ordinal);

        using var document = JsonDocument.Parse("""[{"sensor":"s1"}]""");
        var root = document.RootElement.Clone();
        var json = await Assert.ThrowsAsync<TimeoutException>(() => Poll.UntilAsync(
            "no alerts", () => Task.FromResult(root), a => a.GetArrayLength() == 0, within: TimeSpan.Zero, cancellationToken: Ct));
        Assert.Contains("""Last value: [{"sensor":"s1"}]""", json.Message, StringComparison.Ordinal);

        var custom = await Assert.ThrowsAsync<TimeoutException>(() => Poll.UntilAsync(
            "an even number", () => Task.FromResult(3), n => n % 2 == 0, within: TimeSpan.Zero, show: n => $"odd {n}", cancellationToken: Ct));
        Assert.Contains("Last value: odd 3", custom.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_ends_the_poll_at_once()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Poll.UntilAsync(
            "never", () => Task.FromResult(0), _ => false, within: TimeSpan.FromMinutes(5), cancellationToken: cancel.Token));
    }

    [Fact]
    public async Task Throughout_returns_the_last_value_when_the_condition_held_for_the_whole_span()
    {
        var reads = 0;

        var value = await Poll.ThroughoutAsync(
            "the value to stay positive", () => Task.FromResult(++reads), n => n > 0, TimeSpan.FromMilliseconds(50), every: TimeSpan.FromMilliseconds(5), cancellationToken: Ct);

        Assert.Equal(reads, value);
        Assert.True(reads > 1, $"read {reads} times");
    }

    [Fact]
    public async Task Throughout_fails_at_the_first_value_that_breaks_the_condition()
    {
        var reads = 0;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Poll.ThroughoutAsync(
            "the value to stay below 3", () => Task.FromResult(++reads), n => n < 3, TimeSpan.FromMinutes(5), every: TimeSpan.FromMilliseconds(1), cancellationToken: Ct));

        Assert.Equal(3, reads);
        Assert.Contains("Expected the value to stay below 3 for 300 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("(read 3). Value: 3", error.Message, StringComparison.Ordinal);
    }
}
