import Foundation
import Testing
import RecKit
@testable import RecEvaluation

/// Issue 15: Kendall's τ-b counts discordant pairs with a Fenwick tree over y's ranks (O(n log m)
/// per resample) and the sign-flip test flips sign bits without a branch. Both must give exactly
/// what the definitions give.
@Suite struct ResamplingSpeedTests {
    /// τ-b of the data expanded by integer weights, by enumerating every pair (the definition).
    static func bruteForceTauB(_ x: [Double], _ y: [Double], _ w: [Int]) -> Double? {
        var xs: [Double] = [], ys: [Double] = []
        for i in x.indices { for _ in 0..<w[i] { xs.append(x[i]); ys.append(y[i]) } }
        var c = 0.0, d = 0.0, tx = 0.0, ty = 0.0
        for i in xs.indices {
            for j in (i + 1)..<max(i + 1, xs.count) {
                let sx = (xs[i] - xs[j]).sign == .minus ? -1.0 : (xs[i] == xs[j] ? 0 : 1)
                let sy = (ys[i] - ys[j]).sign == .minus ? -1.0 : (ys[i] == ys[j] ? 0 : 1)
                if sx == 0 { tx += 1 }
                if sy == 0 { ty += 1 }
                if sx != 0 && sy != 0 { if sx == sy { c += 1 } else { d += 1 } }
            }
        }
        let n0 = Double(xs.count * (xs.count - 1) / 2)
        guard n0 - tx > 0, n0 - ty > 0 else { return nil }
        return (c - d) / ((n0 - tx).squareRoot() * (n0 - ty).squareRoot())
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func weightedKendallEqualsTheExpandedDefinition(_ seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        let n = 30 + g.nextIndex(40)
        // Few distinct values in both (ratings and tied scores), as in validate-rewards.
        let x = (0..<n).map { _ in Double(g.nextIndex(7)) / 2 }
        let y = (0..<n).map { _ in Double(1 + g.nextIndex(5)) }
        let w = (0..<n).map { _ in g.nextIndex(4) }  // 0 drops a pair, as an absent user does
        let sample = PairedSample(x: x, y: y)
        let fast = sample.kendallTauB(weights: w.map(Double.init)).value
        let slow = Self.bruteForceTauB(x, y, w)
        #expect((fast == nil) == (slow == nil))
        if let fast, let slow { #expect(abs(fast - slow) < 1e-12) }
        #expect(abs(sample.kendallTauB().value! - Self.bruteForceTauB(x, y, [Int](repeating: 1, count: n))!) < 1e-12)
    }

    @Test func signFlipEqualsTheBranchingDefinition() {
        var g = SeededGenerator(seed: 12)
        let d = (0..<1000).map { _ in g.nextGaussian() * 0.1 + 0.004 }
        let r = PairedTests.signFlip(differences: d, permutations: 500, seed: 9)
        // The loop as first written: one branch per sign.
        var h = SeededGenerator(seed: 9).fork("sign-flip")
        let observed = d.reduce(0, +), bound = abs(observed) - 1e-12 * d.reduce(0) { $0 + abs($1) }
        var extreme = 0
        for _ in 0..<500 {
            var s = 0.0, i = 0
            while i < d.count {
                let bits = h.next(), end = min(d.count, i + 64)
                var b = 0
                while i < end { s += (bits >> UInt64(b)) & 1 == 1 ? -d[i] : d[i]; i += 1; b += 1 }
            }
            if abs(s) >= bound { extreme += 1 }
        }
        #expect(r.pValue.value == Double(1 + extreme) / 501)
    }
}

/// The user-grouped statistics walk precomputed layouts; they must equal the general weighted
/// statistics on the per-pair weights bit for bit (same integer sums, same order of the rest).
@Suite struct UserGroupedLayoutTests {
    @Test(arguments: [1, 2, 3])
    func layoutsEqualTheGeneralWeightedStatistics(_ seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        let users = (0..<80).map { _ in
            let m = 1 + g.nextIndex(6)
            let x = (0..<m).map { _ in Double(g.nextIndex(9)) / 4 }  // many ties
            let y = (0..<m).map { _ in Double(1 + g.nextIndex(5)) }
            return (x: x, y: y)
        }
        let pairs = UserGroupedPairs(users)
        let labels = UserGroupedLabels(users.map { (scores: $0.x, labels: $0.y.map { $0 >= 4 }) })
        var h = SeededGenerator(seed: seed + 100)
        for _ in 0..<20 {
            let w = UserWeights.resample(userCount: users.count, using: &h)
            let pw = w.observationWeights(pairs.userOfPair)
            #expect(pairs.pearson(w) == pairs.sample.pearson(weights: pw))
            #expect(pairs.spearman(w) == pairs.sample.spearman(weights: pw))
            #expect(pairs.kendallTauB(w) == pairs.sample.kendallTauB(weights: pw))
            #expect(labels.auc(w) == labels.sample.auc(weights: w.observationWeights(labels.userOfObservation)))
        }
        // Degenerate resamples: one user only (constant or too few), and all weight on nobody.
        var one = [Double](repeating: 0, count: users.count); one[3] = 5
        let w1 = UserWeights(multiplicity: one)
        #expect(pairs.kendallTauB(w1) == pairs.sample.kendallTauB(weights: w1.observationWeights(pairs.userOfPair)))
        #expect(pairs.spearman(w1) == pairs.sample.spearman(weights: w1.observationWeights(pairs.userOfPair)))
        #expect(labels.auc(w1) == labels.sample.auc(weights: w1.observationWeights(labels.userOfObservation)))
        let none = UserWeights(multiplicity: [Double](repeating: 0, count: users.count))
        #expect(pairs.pearson(none) == pairs.sample.pearson(weights: none.observationWeights(pairs.userOfPair)))
    }
}
