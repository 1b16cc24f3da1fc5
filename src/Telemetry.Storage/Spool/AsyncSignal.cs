namespace Telemetry.Storage.Spool;

/// <summary>
/// Wakes every waiter once per <see cref="Set"/>. Take <see cref="Next"/> before checking the condition you wait
/// for, then await it, so that a Set between the check and the await is not missed.
/// (A one-line primitive that System.Threading does not offer in async form.)
/// </summary>
internal sealed class AsyncSignal
{
    TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref next).Task;

    public void Set() =>
        Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
