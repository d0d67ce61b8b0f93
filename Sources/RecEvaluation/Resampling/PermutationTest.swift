import RecKit

/// Result of a paired sign-flip permutation test.
public struct PermutationTestResult: Sendable, Hashable, Codable {
    /// Mean of the per-user differences a − b.
    public var meanDifference: Estimate
    /// Two-sided p-value for "the differences are symmetric about 0".
    public var pValue: Estimate
    /// Number of users (differences) tested.
    public var pairs: Int
    /// Sign patterns evaluated (2ⁿ when exact).
    public var permutations: Int
    /// True when every sign pattern was enumerated.
    public var exact: Bool
}

/// Paired tests on per-user differences.
public enum PairedTests {
    /// Sign-flip (randomisation) test of mean(d) = 0 for per-user differences d (Fisher 1935;
    /// Good 2005). Under the null of exchangeable signs each user's difference is as likely
    /// negative as positive; the statistic is |mean d|. Exact enumeration when 2ⁿ ≤
    /// `permutations`, otherwise Monte Carlo with p = (1 + #{|mean d*| ≥ |mean d|}) / (P + 1),
    /// which is never 0 and keeps the test valid (Phipson & Smyth 2010).
    public static func signFlip(differences d: [Double], permutations: Int = 10_000, seed: UInt64) -> PermutationTestResult {
        precondition(permutations >= 1)
        let n = d.count
        if n == 0 {
            let u = Estimate.undefined(reason: "no paired users")
            return PermutationTestResult(meanDifference: u, pValue: u, pairs: 0, permutations: 0, exact: false)
        }
        if d.contains(where: { !$0.isFinite }) {
            let u = Estimate.undefined(reason: "non-finite difference")
            return PermutationTestResult(meanDifference: u, pValue: u, pairs: n, permutations: 0, exact: false)
        }
        let observed = d.reduce(0, +)
        // Compare sums (same ordering as means), with a rounding tolerance so that the observed
        // pattern itself and exact ties always count as "at least as extreme".
        let scale = d.reduce(0) { $0 + abs($1) }
        let bound = abs(observed) - 1e-12 * scale
        let mean = Estimate.value(observed / Double(n))

        if n < 63 && (1 << n) <= permutations {
            var extreme = 0
            let total = 1 << n
            for mask in 0..<total {
                var s = 0.0
                for i in 0..<n { s += (mask >> i) & 1 == 1 ? -d[i] : d[i] }
                if abs(s) >= bound { extreme += 1 }
            }
            return PermutationTestResult(meanDifference: mean, pValue: .value(Double(extreme) / Double(total)),
                                         pairs: n, permutations: total, exact: true)
        }
        var g = SeededGenerator(seed: seed).fork("sign-flip")
        var extreme = 0
        for _ in 0..<permutations {
            var s = 0.0
            var i = 0
            while i < n {
                // 64 signs per draw.
                let bits = g.next()
                let end = min(n, i + 64)
                var b: UInt64 = 0
                while i < end {
                    // Flip the sign bit when the bit is set: exactly −d[i], without a branch the
                    // CPU mispredicts half the time (this loop is permutations × users long).
                    let flip = ((bits >> b) & 1) << 63
                    s += Double(bitPattern: d[i].bitPattern ^ flip)
                    i += 1; b += 1
                }
            }
            if abs(s) >= bound { extreme += 1 }
        }
        return PermutationTestResult(meanDifference: mean, pValue: .value(Double(1 + extreme) / Double(permutations + 1)),
                                     pairs: n, permutations: permutations, exact: false)
    }
}

/// Corrections for testing several hypotheses at once.
public enum MultipleComparisons {
    /// Holm's (1979) step-down adjusted p-values: sort ascending, multiply the i-th smallest
    /// (0-based) by (m − i), enforce monotonicity, cap at 1. Controls the family-wise error rate
    /// like Bonferroni under any dependence, and is uniformly more powerful. Input order is kept.
    public static func holm(_ p: [Double]) -> [Double] {
        let m = p.count
        let order = Array(p.indices).sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 < $1) }
        var adjusted = [Double](repeating: 1, count: m)
        var running = 0.0
        for (rank, i) in order.enumerated() {
            running = max(running, min(1, Double(m - rank) * p[i]))
            adjusted[i] = running
        }
        return adjusted
    }

    /// Holm over estimates; undefined p-values stay undefined and do not count towards m (they
    /// are not tests that were performed).
    public static func holm(_ p: [Estimate]) -> [Estimate] {
        let defined = p.compactMap { $0.value }
        var adjusted = holm(defined).makeIterator()
        return p.map { e in e.isDefined ? .value(adjusted.next()!) : e }
    }

    /// Bonferroni-adjusted p-values, min(1, m·p).
    public static func bonferroni(_ p: [Double]) -> [Double] {
        p.map { min(1, Double(p.count) * $0) }
    }
}
