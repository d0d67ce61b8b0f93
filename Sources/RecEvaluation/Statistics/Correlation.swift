/// Pearson, Spearman and Kendall τ-b correlations between two paired vectors.
///
/// All three agree with `scipy.stats.pearsonr`, `spearmanr` and `kendalltau(variant="b")` to
/// ~1e-12 on the committed fixtures (Tests/RecEvaluationTests/Fixtures). Where scipy answers NaN
/// (fewer than two pairs, a constant vector) these answer `.undefined` with the reason.
public enum Correlation {
    /// Pearson's product-moment correlation r.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Estimate {
        PairedSample(x: x, y: y).pearson()
    }

    /// Spearman's ρ: Pearson's r between average ranks (ties share the mean of their positions).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Estimate {
        PairedSample(x: x, y: y).spearman()
    }

    /// Kendall's τ-b, which corrects τ for ties in either vector (Kendall 1945), computed in
    /// O(n log n) with Knight's (1966) merge-sort algorithm.
    public static func kendallTauB(_ x: [Double], _ y: [Double]) -> Estimate {
        PairedSample(x: x, y: y).kendallTauB()
    }
}

/// Paired observations `(x[i], y[i])` prepared once (sort orders, tie groups) so that the three
/// correlations can be re-evaluated cheaply under observation weights, which is what a user
/// bootstrap needs: resampling users with replacement is the same as giving every pair of a user
/// the user's multiplicity as an integer weight, and a weighted statistic on the original,
/// pre-sorted data avoids building and re-sorting a resampled copy each time.
///
/// With integer weights every statistic equals the unweighted statistic on the data expanded by
/// those multiplicities (copies of one pair tie with each other in both vectors).
public struct PairedSample: Sendable {
    public let x: [Double]
    public let y: [Double]
    /// Indices sorted by x ascending (ties in input order).
    let orderX: [Int]
    /// Indices sorted by y ascending.
    let orderY: [Int]
    /// Indices sorted by (x, y) lexicographically: Knight's first pass.
    let orderXY: [Int]
    /// Dense rank of each y among the distinct y values (ties share a rank), and how many distinct
    /// values there are: the discordant-pair count walks `orderXY` with a Fenwick tree over these.
    let yRank: [Int32]
    let yRankCount: Int
    let invalidReason: String?

    public init(x: [Double], y: [Double]) {
        precondition(x.count == y.count, "paired vectors differ in length: \(x.count) vs \(y.count)")
        self.x = x
        self.y = y
        if x.contains(where: { $0.isNaN }) || y.contains(where: { $0.isNaN }) {
            invalidReason = "input contains NaN"
            orderX = []; orderY = []; orderXY = []; yRank = []; yRankCount = 0
            return
        }
        invalidReason = nil
        orderX = Ranks.sortedIndices(x)
        orderY = Ranks.sortedIndices(y)
        orderXY = Array(x.indices).sorted { a, b in
            x[a] < x[b] || (x[a] == x[b] && (y[a] < y[b] || (y[a] == y[b] && a < b)))
        }
        var rank = [Int32](repeating: 0, count: y.count)
        var r: Int32 = -1
        for (p, i) in orderY.enumerated() {
            if p == 0 || y[i] != y[orderY[p - 1]] { r += 1 }
            rank[i] = r
        }
        yRank = rank
        yRankCount = Int(r) + 1
    }

    public var count: Int { x.count }

    private func precheck(_ w: [Double]?) -> String? {
        if let r = invalidReason { return r }
        if let w { precondition(w.count == x.count, "one weight per pair") }
        let n = w.map { $0.reduce(0, +) } ?? Double(x.count)
        return n < 2 ? "fewer than 2 pairs" : nil
    }

    // MARK: Pearson

    /// Pearson's r, optionally with per-pair weights (nil means all 1).
    public func pearson(weights w: [Double]? = nil) -> Estimate {
        if let r = precheck(w) { return .undefined(reason: r) }
        return Self.weightedPearson(x, y, w)
    }

    static func weightedPearson(_ x: [Double], _ y: [Double], _ w: [Double]?) -> Estimate {
        if let w { return weightedPearson(x, y) { w[$0] } }
        return weightedPearson(x, y) { _ in 1 }
    }

    /// Pearson's r with pair i weighted by `weight(i)`; the one implementation behind the
    /// per-pair weights here and the bootstrap's per-user multiplicities (`UserWeights`).
    @inline(__always)
    static func weightedPearson(_ x: [Double], _ y: [Double], weight: (Int) -> Double) -> Estimate {
        // Two passes (means, then centred sums) rather than raw moments: raw sums of squares
        // cancel catastrophically for data with a large offset (e.g. timestamps, 1e6 + small).
        var sw = 0.0, sx = 0.0, sy = 0.0
        for i in x.indices {
            let wi = weight(i)
            sw += wi; sx += wi * x[i]; sy += wi * y[i]
        }
        let mx = sx / sw, my = sy / sw
        var sxx = 0.0, syy = 0.0, sxy = 0.0
        for i in x.indices {
            let wi = weight(i)
            let dx = x[i] - mx, dy = y[i] - my
            sxx += wi * dx * dx; syy += wi * dy * dy; sxy += wi * dx * dy
        }
        if sxx == 0 { return .undefined(reason: "x is constant") }
        if syy == 0 { return .undefined(reason: "y is constant") }
        let r = sxy / (sxx.squareRoot() * syy.squareRoot())
        return .checked(min(1, max(-1, r)), else: "non-finite correlation")
    }

    // MARK: Spearman

    /// Spearman's ρ with average ranks for ties, optionally weighted (see the type's note).
    public func spearman(weights w: [Double]? = nil) -> Estimate {
        if let r = precheck(w) { return .undefined(reason: r) }
        let rx = Self.weightedAverageRanks(x, orderX, w)
        let ry = Self.weightedAverageRanks(y, orderY, w)
        switch Self.weightedPearson(rx, ry, w) {
        case .value(let v): return .value(v)
        // Ranks are constant exactly when the values are, so keep the caller's vocabulary.
        case .undefined(let reason): return .undefined(reason: reason)
        }
    }

    /// Average ranks where a pair of weight w counts as w tied copies: a tie group of total weight
    /// G preceded by weight C occupies positions C+1 ... C+G, mean C + (G+1)/2.
    static func weightedAverageRanks(_ v: [Double], _ order: [Int], _ w: [Double]?) -> [Double] {
        var ranks = [Double](repeating: 0, count: v.count)
        var before = 0.0
        var i = 0
        while i < order.count {
            var j = i
            var g = w?[order[i]] ?? 1
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] {
                j += 1
                g += w?[order[j]] ?? 1
            }
            let r = before + (g + 1) / 2
            for t in i...j { ranks[order[t]] = r }
            before += g
            i = j + 1
        }
        return ranks
    }

    // MARK: Kendall τ-b

    /// Kendall's τ-b = (n_c − n_d) / sqrt((n0 − n1)(n0 − n2)), where n1, n2 count pairs tied in x,
    /// in y; optionally weighted (see the type's note). O(n log m) per call for m distinct y values
    /// (the orders are sorted once, in `init`): ratings have a handful of values, so a bootstrap
    /// resample costs O(n), where re-running Knight's merge sort cost O(n log n).
    public func kendallTauB(weights w: [Double]? = nil) -> Estimate {
        if let r = precheck(w) { return .undefined(reason: r) }
        // Zero-weight pairs drop out entirely; in a bootstrap ~37 % of users are absent.
        let idx = w.map { w in orderXY.filter { w[$0] > 0 } } ?? orderXY
        func weight(_ i: Int) -> Double { w?[i] ?? 1 }
        func pairs(_ g: Double) -> Double { g * (g - 1) / 2 }

        var total = 0.0
        for i in idx { total += weight(i) }
        let n0 = pairs(total)

        // Ties in x (n1) and in both (n3) from runs of the (x, y) order.
        var n1 = 0.0, n3 = 0.0
        var i = 0
        while i < idx.count {
            var j = i, gx = weight(idx[i])
            while j + 1 < idx.count && x[idx[j + 1]] == x[idx[i]] { j += 1; gx += weight(idx[j]) }
            n1 += pairs(gx)
            var a = i
            while a <= j {
                var b = a, gxy = weight(idx[a])
                while b + 1 <= j && y[idx[b + 1]] == y[idx[a]] { b += 1; gxy += weight(idx[b]) }
                n3 += pairs(gxy)
                a = b + 1
            }
            i = j + 1
        }
        // Copies of one pair tie with each other in x and y: pairs(w) inside a run already
        // covers them because a run sums the weights of its members.

        // Discordant pairs: in the (x, y) order, every earlier pair with a strictly larger y (the
        // inversions Knight's merge sort counts). A Fenwick tree over y's dense ranks holds the
        // weight seen so far per rank. With integer weights every sum is an integer below 2^53,
        // so the count is exact and equals the merge sort's.
        let m = yRankCount
        var tree = [Double](repeating: 0, count: m + 1)
        var groupWeight = [Double](repeating: 0, count: m)
        var swaps = 0.0, seen = 0.0
        tree.withUnsafeMutableBufferPointer { t in
            groupWeight.withUnsafeMutableBufferPointer { gw in
                for i in idx {
                    let wi = weight(i)
                    let r = Int(yRank[i])
                    swaps += wi * (seen - FenwickTree.sum(t, atMost: r))
                    FenwickTree.add(wi, to: t, at: r)
                    seen += wi
                    gw[r] += wi
                }
            }
        }

        // Ties in y (n2) from the weight of each y value.
        var n2 = 0.0
        for g in groupWeight { n2 += pairs(g) }
        let dx = n0 - n1, dy = n0 - n2
        if dx <= 0 { return .undefined(reason: "x is constant") }
        if dy <= 0 { return .undefined(reason: "y is constant") }
        // n_c − n_d = n0 − n1 − n2 + n3 − 2 n_d: every pair is concordant, discordant or tied.
        let tau = (n0 - n1 - n2 + n3 - 2 * swaps) / (dx.squareRoot() * dy.squareRoot())
        return .checked(min(1, max(-1, tau)), else: "non-finite correlation")
    }
}

/// A Fenwick (binary indexed) tree of weights over dense ranks 0..<n, stored 1-based in n + 1
/// slots: the discordant-pair counts of Kendall's τ, here and in the bootstrap's one-pass version
/// (`UserGroupedPairs.kendallTauB`). Buffers, not arrays, because both run in the bootstrap's inner loop.
enum FenwickTree {
    /// Total weight added at ranks ≤ `rank`.
    @inline(__always)
    static func sum(_ t: UnsafeMutableBufferPointer<Double>, atMost rank: Int) -> Double {
        var total = 0.0
        var k = rank + 1
        while k > 0 { total += t[k]; k -= k & -k }
        return total
    }

    /// Adds `weight` at `rank`.
    @inline(__always)
    static func add(_ weight: Double, to t: UnsafeMutableBufferPointer<Double>, at rank: Int) {
        var k = rank + 1
        while k < t.count { t[k] += weight; k += k & -k }
    }
}
