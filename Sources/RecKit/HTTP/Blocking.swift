import Dispatch

/// Runs async code to completion from synchronous code (synchronous protocol requirements such
/// as `SentenceEncoder.encode`, synchronous command-line entry points).
///
/// The work runs as a detached task whose *task executor preference* is a private serial
/// dispatch queue made for the call, so the task and its child tasks, continuations and sleeps
/// run there rather than on the Swift concurrency cooperative pool; the calling thread waits on
/// a semaphore. That keeps `wait` from deadlocking when the caller itself occupies a cooperative
/// thread (a synchronous API called from an async function), though it still blocks that thread
/// while it waits: async callers should prefer the async API where there is one.
///
/// The body must not hop to an actor that the calling thread is currently running on (e.g. call
/// `wait` on the main thread with a body that awaits `@MainActor` work): that deadlocks, as any
/// blocking wait would.
public enum Blocking {
    /// Runs `body` and returns its result (or rethrows its error) on the calling thread.
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let executor = QueueTaskExecutor(label: "RecKit.Blocking.wait")
        Task.detached(executorPreference: executor) {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        // The semaphore orders the task's write before this read, so the unchecked box is safe.
        return try box.result!.get()
    }
}

private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, any Error>? }

/// A task executor that runs jobs on its own serial dispatch queue. Serial queues are serviced by
/// libdispatch's overcommitting pool, which starts a thread even when every cooperative thread
/// is blocked.
private final class QueueTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the only stored property is a thread-safe DispatchQueue.
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
