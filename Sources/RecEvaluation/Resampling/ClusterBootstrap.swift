import Foundation
import RecKit

/// How a bootstrap interval is read off the replicates.
public enum BootstrapMethod: String, Sendable, Hashable, Codable, CaseIterable {
    /// The α/2 and 1−α/2 quantiles of the replicates (Efron & Tibshirani 1993, ch. 13).
    case percentile
    /// Bias-corrected and accelerated (Efron 1987; Efron & Tibshirani 1993, ch. 14): percentile
    /// levels shifted by the median bias z₀ and the jackknife acceleration a. Costs one extra
    /// statistic evaluation per user (leave-one-user-out).
    case bca
}

/// Settings of a user (cluster) bootstrap.
public struct BootstrapConfiguration: Sendable, Hashable, Codable {
    public var resamples: Int
    /// Nominal two-sided coverage, e.g. 0.95.
    public var level: Double
    public var seed: UInt64
    public var method: BootstrapMethod
    /// Below this fraction of resamples with a defined statistic (e.g. AUC when a resample has no
    /// positive), the interval is reported undefined rather than computed from a biased subset.
    public var minimumDefinedFraction: Double

    public init(resamples: Int = 1000, level: Double = 0.95, seed: UInt64, method: BootstrapMethod = .percentile,
                minimumDefinedFraction: Double = 0.9) {
        precondition(resamples >= 1 && level > 0 && level < 1)
        self.resamples = resamples; self.level = level; self.seed = seed
        self.method = method; self.minimumDefinedFraction = minimumDefinedFraction
    }
}

/// A confidence interval, or why there is none.
public enum IntervalEstimate: Sendable, Hashable, Codable, CustomStringConvertible {
    case interval(ConfidenceInterval)
    case undefined(reason: String)

    public var interval: ConfidenceInterval? {
        if case .interval(let ci) = self { return ci }
        return nil
    }

    public var description: String {
        switch self {
        case .interval(let ci): return ci.description
        case .undefined(let r): return "undefined (\(r))"
        }
    }
}

/// A point estimate with its bootstrap interval.
public struct BootstrapEstimate: Sendable, Hashable, Codable {
    /// The statistic on the original sample.
    public var point: Estimate
    public var interval: IntervalEstimate
    /// The method actually used (BCa falls back to percentile when its bias correction is infinite).
    public var method: BootstrapMethod
    public var resamples: Int
    /// Resamples where the statistic was undefined (left out of the interval).
    public var undefinedResamples: Int
}

/// The difference a − b of two statistics on the same users, with a paired bootstrap interval and
/// a two-sided p-value for "no difference".
public struct PairedDifference: Sendable, Hashable, Codable {
    public var difference: BootstrapEstimate
    /// (1 + #{b : |d*_b − d̂| ≥ |d̂|}) / (B + 1): the replicates recentred on the null, the
    /// bootstrap test of Efron & Tibshirani (1993, §16.4); undefined when d̂ is.
    public var pValue: Estimate
}

/// Replicates of several statistics over the *same* user resamples: common random numbers make
/// the paired differences between statistics far less noisy than independent bootstraps.
public struct BootstrapReplicates: Sendable {
    public let configuration: BootstrapConfiguration
    public let points: [Estimate]
    /// replicates[s][b]: statistic s on resample b, nil when undefined there.
    public let replicates: [[Double?]]
    /// jackknife[s][u]: statistic s without user u (BCa only), nil when undefined.
    public let jackknife: [[Double?]]?

    /// The interval of statistic `s`.
    public func estimate(_ s: Int) -> BootstrapEstimate {
        Self.summarise(point: points[s], replicates: replicates[s], jackknife: jackknife?[s], configuration)
    }

    /// A statistic that is a function of other statistics on the same resamples (a partial
    /// correlation from three correlations): `f` combines their values on the original sample, on
    /// every resample and on every jackknife sample; wherever an input is undefined, so is the
    /// result. Cheaper than bootstrapping the combination as a statistic of its own when the
    /// inputs are bootstrapped anyway.
    public func combined(_ inputs: [Int], _ f: ([Double]) -> Estimate) -> BootstrapEstimate {
        var point: Estimate = .value(0)
        var values: [Double] = []
        for i in inputs {
            guard let v = points[i].value else { point = points[i]; break }
            values.append(v)
        }
        if point.isDefined { point = f(values) }
        func column(_ table: [[Double?]], _ b: Int) -> Double? {
            var v: [Double] = []
            for i in inputs {
                guard let x = table[i][b] else { return nil }
                v.append(x)
            }
            return f(v).value
        }
        let reps = (0..<(replicates.first?.count ?? 0)).map { column(replicates, $0) }
        let jack = jackknife.map { j in (0..<(j.first?.count ?? 0)).map { column(j, $0) } }
        return Self.summarise(point: point, replicates: reps, jackknife: jack, configuration)
    }

    /// Statistic `a` minus statistic `b`, paired over the same resamples.
    public func difference(_ a: Int, _ b: Int) -> PairedDifference {
        let point: Estimate
        switch (points[a], points[b]) {
        case (.value(let x), .value(let y)): point = .value(x - y)
        case (.undefined(let r), _), (_, .undefined(let r)): point = .undefined(reason: r)
        }
        func diff(_ u: [Double?], _ v: [Double?]) -> [Double?] {
            zip(u, v).map { p in
                guard let x = p.0, let y = p.1 else { return nil }
                return x - y
            }
        }
        let reps = diff(replicates[a], replicates[b])
        let jack = jackknife.map { diff($0[a], $0[b]) }
        let est = Self.summarise(point: point, replicates: reps, jackknife: jack, configuration)
        var p: Estimate = .undefined(reason: point.undefinedReason ?? "too few defined resamples")
        if let d = point.value, case .interval = est.interval {
            let defined = reps.compactMap { $0 }
            // Tolerance: a replicate equal to the observed |d̂| up to rounding counts as extreme.
            let bound = abs(d) * (1 - 1e-12)
            let extreme = defined.reduce(0) { $0 + (abs($1 - d) >= bound ? 1 : 0) }
            p = .value(Double(1 + extreme) / Double(defined.count + 1))
        }
        return PairedDifference(difference: est, pValue: p)
    }

    static func summarise(point: Estimate, replicates: [Double?], jackknife: [Double?]?,
                          _ c: BootstrapConfiguration) -> BootstrapEstimate {
        let defined = replicates.compactMap { $0 }.sorted()
        let undefinedCount = replicates.count - defined.count
        func result(_ i: IntervalEstimate, _ m: BootstrapMethod) -> BootstrapEstimate {
            BootstrapEstimate(point: point, interval: i, method: m, resamples: replicates.count,
                              undefinedResamples: undefinedCount)
        }
        guard let theta = point.value else {
            return result(.undefined(reason: point.undefinedReason ?? "undefined"), c.method)
        }
        if Double(defined.count) < c.minimumDefinedFraction * Double(replicates.count) || defined.isEmpty {
            return result(.undefined(reason: "statistic undefined in \(undefinedCount) of \(replicates.count) resamples"), c.method)
        }
        let alpha = 1 - c.level
        var lowP = alpha / 2, highP = 1 - alpha / 2
        var method = BootstrapMethod.percentile
        if c.method == .bca, let jackknife, let ab = bcaLevels(theta: theta, sorted: defined, jackknife: jackknife, alpha: alpha) {
            (lowP, highP) = ab
            method = .bca
        }
        let ci = ConfidenceInterval(lower: quantile(defined, lowP), upper: quantile(defined, highP), level: c.level)
        return result(.interval(ci), method)
    }

    /// BCa's adjusted percentile levels, nil when z₀ or a is not finite (all replicates on one
    /// side of θ̂, or a degenerate jackknife): the caller falls back to percentile.
    static func bcaLevels(theta: Double, sorted: [Double], jackknife: [Double?], alpha: Double) -> (Double, Double)? {
        let below = sorted.reduce(0) { $0 + ($1 < theta ? 1 : 0) }
        let frac = Double(below) / Double(sorted.count)
        guard frac > 0 && frac < 1 else { return nil }
        let z0 = Normal.quantile(frac)
        let jk = jackknife.compactMap { $0 }
        guard jk.count >= 2 else { return nil }
        let mean = jk.reduce(0, +) / Double(jk.count)
        var num = 0.0, den = 0.0
        for v in jk { let d = mean - v; num += d * d * d; den += d * d }
        let a = den > 0 ? num / (6 * pow15(den)) : 0
        func level(_ q: Double) -> Double {
            let z = Normal.quantile(q)
            return Normal.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
        }
        let lo = level(alpha / 2), hi = level(1 - alpha / 2)
        guard lo.isFinite && hi.isFinite && lo < hi else { return nil }
        return (lo, hi)
    }

    private static func pow15(_ x: Double) -> Double { x * x.squareRoot() }

    /// numpy's default quantile (linear interpolation between order statistics, "type 7").
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        let h = Double(sorted.count - 1) * min(1, max(0, p))
        let i = Int(h.rounded(.down))
        if i + 1 >= sorted.count { return sorted[sorted.count - 1] }
        return sorted[i] + (h - Double(i)) * (sorted[i + 1] - sorted[i])
    }
}

/// Bootstrap over users: each resample draws as many users as there are, with replacement, and
/// re-evaluates every statistic with the users' multiplicities as weights. Users, not ratings, are
/// the independent units (a user's ratings share that user's taste and rationales), so resampling
/// ratings would understate the variance.
public struct ClusterBootstrap: Sendable {
    public let userCount: Int
    public let configuration: BootstrapConfiguration

    public init(userCount: Int, configuration: BootstrapConfiguration) {
        precondition(userCount >= 1, "a bootstrap needs at least one user")
        self.userCount = userCount
        self.configuration = configuration
    }

    /// Evaluates each statistic on the original sample and on every resample (the same resamples
    /// for all statistics). Deterministic for a seed: resample b always draws from the same stream,
    /// whatever `threads` is. With `threads > 1` the statistics are spread over that many threads
    /// (each statistic still sees every resample in order), which is how `validate-rewards` keeps
    /// a dozen metrics × seven statistics × 1000 resamples within seconds.
    ///
    /// Memory is bounded by `resampleMemory` doubles of multiplicities, not resamples × users:
    /// resamples are drawn from the one stream in blocks, every statistic evaluates a block, and the
    /// block is dropped (1000 resamples of 100k users would otherwise hold 800 MB). The jackknife
    /// of BCa builds one leave-one-out weight vector at a time for the same reason; its cost is
    /// still users × (one evaluation), inherently quadratic for statistics linear in the pairs.
    public func run(_ statistics: [@Sendable (UserWeights) -> Estimate], threads: Int = 1,
                    resampleMemory: Int = 1 << 23) -> BootstrapReplicates {
        let identity = UserWeights.identity(userCount: userCount)
        var g = SeededGenerator(seed: configuration.seed).fork("user-bootstrap")
        let count = statistics.count
        let results = ResultSlots(count: count, resamples: configuration.resamples)
        let withJackknife = configuration.method == .bca
        let parallel = threads > 1 && count > 1
        // Runs `work` for every statistic index, spread over the threads when asked.
        func forEachStatistic(_ work: @Sendable (Int) -> Void) {
            if parallel {
                let next = AtomicCounter()
                DispatchQueue.concurrentPerform(iterations: min(threads, count)) { _ in
                    while true {
                        let s = next.next()
                        if s >= count { break }
                        work(s)
                    }
                }
            } else {
                for s in 0..<count { work(s) }
            }
        }
        forEachStatistic { s in
            let f = statistics[s]
            var jack: [Double?] = []
            if withJackknife {
                var m = identity.multiplicity
                jack.reserveCapacity(userCount)
                for u in 0..<userCount {
                    m[u] = 0
                    jack.append(f(UserWeights(multiplicity: m)).value)
                    m[u] = 1
                }
            }
            results.setPoint(s, f(identity), jackknife: jack)
        }
        let block = max(1, min(configuration.resamples, resampleMemory / max(userCount, 1)))
        var done = 0
        while done < configuration.resamples {
            let n = min(block, configuration.resamples - done)
            let resamples = (0..<n).map { _ in UserWeights.resample(userCount: userCount, using: &g) }
            forEachStatistic { s in
                let f = statistics[s]
                results.append(s, resamples.map { f($0).value })
            }
            done += n
        }
        return BootstrapReplicates(configuration: configuration, points: results.points, replicates: results.replicates,
                                   jackknife: withJackknife ? results.jackknife : nil)
    }

    /// One statistic's point estimate and interval.
    public func estimate(_ statistic: @escaping @Sendable (UserWeights) -> Estimate) -> BootstrapEstimate {
        run([statistic]).estimate(0)
    }

    /// Paired bootstrap of a − b on the same users.
    public func compare(_ a: @escaping @Sendable (UserWeights) -> Estimate,
                        _ b: @escaping @Sendable (UserWeights) -> Estimate) -> PairedDifference {
        run([a, b]).difference(0, 1)
    }
}

/// Per-statistic results written by worker threads, each slot by exactly one thread at a time.
private final class ResultSlots: @unchecked Sendable {
    private var pointSlots: [Estimate?]
    private var jackSlots: [[Double?]]
    private var replicateSlots: [[Double?]]
    private let lock = NSLock()
    init(count: Int, resamples: Int) {
        pointSlots = Array(repeating: nil, count: count)
        jackSlots = Array(repeating: [], count: count)
        replicateSlots = (0..<count).map { _ in
            var r: [Double?] = []
            r.reserveCapacity(resamples)
            return r
        }
    }
    func setPoint(_ i: Int, _ p: Estimate, jackknife: [Double?]) {
        lock.lock(); pointSlots[i] = p; jackSlots[i] = jackknife; lock.unlock()
    }
    func append(_ i: Int, _ values: [Double?]) { lock.lock(); replicateSlots[i] += values; lock.unlock() }
    var points: [Estimate] { lock.lock(); defer { lock.unlock() }; return pointSlots.map { $0! } }
    var replicates: [[Double?]] { lock.lock(); defer { lock.unlock() }; return replicateSlots }
    var jackknife: [[Double?]] { lock.lock(); defer { lock.unlock() }; return jackSlots }
}

/// Hands out statistic indices to worker threads.
private final class AtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
}
