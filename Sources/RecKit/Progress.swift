import Foundation
import Synchronization

/// A single self-overwriting progress line on standard error: count, rate, ETA.
///
/// Long work in this library (imports, embedding, rationale generation, training) reports through
/// this type so every command looks the same. The line is redrawn at most every `interval`
/// seconds, so reporting on every row costs a clock read and nothing else.
public final class ProgressReporter: @unchecked Sendable {
    /// What is being counted ("rows", "items", "users", "steps").
    public let unit: String
    /// Label printed at the start of the line.
    public let label: String
    /// Known total in `unit`s, or in bytes when `totalBytes` is used instead.
    public var total: Int?
    /// When the total count is unknown but the input size is (streaming a file), ETA comes from bytes.
    public var totalBytes: Int?
    private var bytesDone: Int = 0
    /// Atomic so that workers on several threads (metrics scored in parallel, concurrent
    /// requests) can report into one line.
    private let counter = Atomic<Int>(0)
    /// Units done so far.
    public var count: Int { counter.load(ordering: .relaxed) }
    private var extra: String = ""
    private let start: Double
    private var lastDraw: Double = 0
    private let interval: Double
    private let enabled: Bool
    /// Whether stderr is a terminal: then the line redraws in place; otherwise (logs, CI) a plain
    /// line is appended every few seconds.
    private let interactive: Bool
    private let lock = NSLock()

    /// - Parameters:
    ///   - enabled: pass `false` to silence (tests, `--quiet`). By default the line is drawn unless
    ///     `REC_NO_PROGRESS` is set in the environment.
    public init(label: String, unit: String, total: Int? = nil, totalBytes: Int? = nil,
                interval: Double = 0.25, enabled: Bool? = nil) {
        self.label = label
        self.unit = unit
        self.total = total
        self.totalBytes = totalBytes
        self.interactive = isatty(2) != 0
        self.interval = interactive ? interval : max(interval, 5)
        self.enabled = enabled ?? (ProcessInfo.processInfo.environment["REC_NO_PROGRESS"] == nil)
        self.start = ProgressReporter.now()
    }

    @inline(__always) static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Seconds since the reporter was created.
    public var elapsed: Double { ProgressReporter.now() - start }

    /// Adds `n` to the count (and optionally sets bytes consumed) and redraws when due.
    @inline(__always)
    public func advance(by n: Int = 1, bytes: Int? = nil) {
        let now = counter.wrappingAdd(n, ordering: .relaxed).newValue
        if let bytes { bytesDone = bytes }
        if (now & 1023) == 0 || n > 1 { maybeDraw() }
    }

    /// Sets a free-form suffix such as "tokens 12.3k" or "return 0.41  eps 0.12".
    public func setDetail(_ text: String) {
        lock.lock(); extra = text; lock.unlock()
        maybeDraw()
    }

    private func maybeDraw() {
        guard enabled else { return }
        let t = ProgressReporter.now()
        lock.lock()
        let due = t - lastDraw >= interval
        if due { lastDraw = t }
        lock.unlock()
        if due { draw(final: false) }
    }

    /// Draws the last line and ends it with a newline.
    public func finish() {
        guard enabled else { return }
        draw(final: true)
    }

    private func draw(final: Bool) {
        let elapsed = max(ProgressReporter.now() - start, 1e-9)
        let rate = Double(count) / elapsed
        var line = "\(label): \(ProgressReporter.human(Double(count))) \(unit)  \(ProgressReporter.human(rate)) \(unit)/s"
        var fraction: Double?
        if let total, total > 0 { fraction = Double(count) / Double(total) }
        else if let totalBytes, totalBytes > 0, bytesDone > 0 { fraction = Double(bytesDone) / Double(totalBytes) }
        if let f = fraction {
            line += String(format: "  %5.1f%%", min(f, 1) * 100)
            if final {
                line += "  done in \(ProgressReporter.duration(elapsed))"
            } else if f > 0 {
                line += "  ETA \(ProgressReporter.duration(elapsed * (1 - f) / f))"
            }
        } else if final {
            line += "  done in \(ProgressReporter.duration(elapsed))"
        }
        lock.lock(); let e = extra; lock.unlock()
        if !e.isEmpty { line += "  " + e }
        let out = interactive ? "\r\u{1B}[K" + line + (final ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(out.utf8))
    }

    /// 1234567 -> "1.23M".
    public static func human(_ x: Double) -> String {
        let a = abs(x)
        if a >= 1e9 { return String(format: "%.2fG", x / 1e9) }
        if a >= 1e6 { return String(format: "%.2fM", x / 1e6) }
        if a >= 1e4 { return String(format: "%.1fk", x / 1e3) }
        if a >= 100 || x == x.rounded() { return String(format: "%.0f", x) }
        return String(format: "%.2f", x)
    }

    /// 83.2 -> "1m23s".
    public static func duration(_ s: Double) -> String {
        if !s.isFinite { return "?" }
        if s < 60 { return String(format: "%.1fs", s) }
        let m = Int(s) / 60, sec = Int(s) % 60
        if m < 60 { return "\(m)m\(String(format: "%02d", sec))s" }
        return "\(m / 60)h\(String(format: "%02d", m % 60))m"
    }
}
