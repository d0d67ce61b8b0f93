import Foundation

/// When and how long a `JSONHTTPClient` waits before trying a request again.
///
/// Retried: HTTP 429 (honouring `Retry-After` seconds, capped by `maxRetryAfter`), 5xx, timeouts,
/// connection errors (refused, reset, lost, truncated bodies) and, when `retryInvalidBody` is on,
/// 2xx bodies that the caller's decoder rejects (servers behind proxies and small local model
/// servers occasionally send a cut or garbled body that succeeds on the next try). Other 4xx
/// statuses are the caller's fault and fail at once.
///
/// The wait after failed attempt `n` (1-based) is `initialBackoff * multiplier^(n-1)`, capped at
/// `maxBackoff`, scaled by a jitter factor drawn uniformly from `[1 - jitter, 1 + jitter]` so that
/// many clients that failed together do not retry together. The jitter comes from a
/// `SeededGenerator`, so a run's waits are reproducible.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// Total attempts including the first (1 = never retry).
    public var maxAttempts: Int
    /// Seconds before the second attempt.
    public var initialBackoff: Double
    public var multiplier: Double
    public var maxBackoff: Double
    /// Relative jitter in [0, 1).
    public var jitter: Double
    /// The longest `Retry-After` that is honoured; longer values are clamped to it.
    public var maxRetryAfter: Double
    /// Retry 2xx responses whose body the caller's decoder rejects.
    public var retryInvalidBody: Bool

    public init(maxAttempts: Int = 4, initialBackoff: Double = 0.5, multiplier: Double = 2, maxBackoff: Double = 30,
                jitter: Double = 0.2, maxRetryAfter: Double = 120, retryInvalidBody: Bool = true) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = max(0, initialBackoff)
        self.multiplier = max(1, multiplier)
        self.maxBackoff = max(0, maxBackoff)
        self.jitter = min(max(0, jitter), 0.99)
        self.maxRetryAfter = max(0, maxRetryAfter)
        self.retryInvalidBody = retryInvalidBody
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Whether a response status is worth another attempt.
    /// 501 (not implemented) and 505 (version not supported) say the server never will: not retried.
    public func isRetryable(status: Int) -> Bool { status == 429 || ((500...599).contains(status) && status != 501 && status != 505) }

    /// Seconds to wait after failed attempt `attempt` (1-based). A server's `Retry-After` replaces
    /// the computed backoff (it knows its own load better), clamped to `maxRetryAfter`.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, generator: inout SeededGenerator) -> Double {
        if let retryAfter, retryAfter >= 0 { return min(retryAfter, maxRetryAfter) }
        let base = min(initialBackoff * pow(multiplier, Double(max(0, attempt - 1))), maxBackoff)
        let factor = 1 + jitter * (2 * generator.nextUnit() - 1)
        return base * factor
    }

    /// Parses a `Retry-After` header: delta-seconds, or an HTTP date (RFC 9110 §10.2.3).
    public static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Double? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        if let s = Double(v), s.isFinite { return max(0, s) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let d = f.date(from: v) { return max(0, d.timeIntervalSince(now)) }
        return nil
    }
}
