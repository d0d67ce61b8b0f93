/// Runs async work over a collection with at most `limit` tasks in flight.
///
/// Model servers serve a few requests at once well and many badly (queueing, 429s), so callers
/// bound their fan-out. Results come back in input order; the first error cancels the rest.
public enum BoundedConcurrency {
    public static func map<T: Sendable, R: Sendable>(
        _ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> R
    ) async throws -> [R] {
        var results = [R?](repeating: nil, count: items.count)
        try await forEach(items, limit: limit, body) { index, value in results[index] = value }
        return results.map { $0! }
    }

    /// Like `map`, but hands each result to `receive` (on the calling task, one at a time, in
    /// completion order) as soon as it is ready: the place to commit results incrementally.
    public static func forEach<T: Sendable, R: Sendable>(
        _ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> R,
        receive: (Int, R) throws -> Void
    ) async throws {
        let limit = max(1, limit)
        try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var next = 0
            func launch() {
                let i = next
                let item = items[i]
                group.addTask { (i, try await body(item)) }
                next += 1
            }
            while next < min(limit, items.count) { launch() }
            do {
                while let (i, r) = try await group.next() {
                    try receive(i, r)
                    if next < items.count && !Task.isCancelled { launch() }
                }
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
