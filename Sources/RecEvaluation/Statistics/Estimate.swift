/// The value of a statistic, or the reason it has none.
///
/// Statistics in this module never answer 0 or NaN for a case where they are not defined (a
/// constant vector has no correlation, a one-class sample has no AUC): a report that shows 0 there
/// would read as "no association" and bias every mean it enters. Callers must decide explicitly
/// what to do with `.undefined`.
public enum Estimate: Sendable, Hashable, Codable, CustomStringConvertible {
    case value(Double)
    case undefined(reason: String)

    /// The number, or `nil` when undefined.
    public var value: Double? {
        if case .value(let v) = self { return v }
        return nil
    }

    /// The reason, or `nil` when defined.
    public var undefinedReason: String? {
        if case .undefined(let r) = self { return r }
        return nil
    }

    public var isDefined: Bool { value != nil }

    /// Applies `transform` to a defined value; an undefined estimate passes through unchanged.
    public func map(_ transform: (Double) -> Double) -> Estimate {
        switch self {
        case .value(let v): return .value(transform(v))
        case .undefined: return self
        }
    }

    /// A defined value when `v` is finite, otherwise `.undefined(reason)`; the guard against a
    /// NaN or infinity produced by arithmetic leaking into a report.
    public static func checked(_ v: Double, else reason: String) -> Estimate {
        v.isFinite ? .value(v) : .undefined(reason: reason)
    }

    public var description: String {
        switch self {
        case .value(let v): return "\(v)"
        case .undefined(let r): return "undefined (\(r))"
        }
    }
}

/// A two-sided interval `[lower, upper]` at a nominal coverage `level` (e.g. 0.95).
public struct ConfidenceInterval: Sendable, Hashable, Codable, CustomStringConvertible {
    public var lower: Double
    public var upper: Double
    public var level: Double

    public init(lower: Double, upper: Double, level: Double) {
        self.lower = lower; self.upper = upper; self.level = level
    }

    public func contains(_ x: Double) -> Bool { lower <= x && x <= upper }
    public var width: Double { upper - lower }

    public var description: String { "[\(lower), \(upper)]" }
}
