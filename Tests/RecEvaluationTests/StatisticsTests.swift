import Testing
import RecKit
@testable import RecEvaluation

@Suite struct UndefinedCaseTests {
    @Test func constantAndTinyInputsAreUndefined() {
        #expect(!Correlation.pearson([1, 1, 1], [1, 2, 3]).isDefined)
        #expect(!Correlation.spearman([1, 2, 3], [4, 4, 4]).isDefined)
        #expect(!Correlation.kendallTauB([2, 2], [1, 2]).isDefined)
        #expect(Correlation.pearson([1], [2]).undefinedReason == "fewer than 2 pairs")
        #expect(!Correlation.pearson([], []).isDefined)
        #expect(Correlation.spearman([1, .nan, 3], [1, 2, 3]).undefinedReason == "input contains NaN")
        #expect(ROC.auc(scores: [0.1, 0.2], labels: [true, true]).undefinedReason == "no negative labels")
        #expect(ROC.auc(scores: [0.1, 0.2], labels: [false, false]).undefinedReason == "no positive labels")
        if case .success = ROC.curve(scores: [1], labels: [true]) { Issue.record("curve of one class") }
        let r = RankingEvaluation.evaluate(scores: [0.3, 0.2], relevance: [0, 0], k: 10)
        #expect(r.ndcg.undefinedReason == "no relevant item" && !r.mrr.isDefined)
    }

    @Test func undefinedUsersAreExcludedAndCounted() {
        let groups: [(x: [Double], y: [Double])] = [
            ([5], [0.9]),                         // one held-out rating
            ([1, 2, 3, 4], [0.1, 0.3, 0.2, 0.9]), // defined
            ([3, 3, 3], [0.1, 0.5, 0.4]),         // constant ratings
        ]
        let m = PerUserCorrelation.meanSpearman(groups, minimumCount: 2)
        #expect(m.included == 1)
        #expect(m.excluded == ["fewer than 2 held-out ratings": 1, "x is constant": 1])
        #expect(matches(m.mean, 0.8))
        #expect(!PerUserMean([]).mean.isDefined)
    }

    @Test func binaryDecisionEdgeCases() {
        let m = BinaryDecisionMetrics(predicted: [true, true, false, false], actual: [true, false, true, false])
        #expect(m.precision == .value(0.5) && m.recall == .value(0.5) && m.f1 == .value(0.5))
        let none = BinaryDecisionMetrics(predicted: [false, false], actual: [true, false])
        #expect(!none.precision.isDefined && none.recall == .value(0) && none.f1 == .value(0))
        let empty = BinaryDecisionMetrics(predicted: [false], actual: [false])
        #expect(!empty.f1.isDefined && !empty.recall.isDefined)
    }

    @Test func thresholdSweepUsesStrictGreaterThan() {
        let scores = [0, 0, 0.5, 0.7, 0.9], labels = [false, true, false, true, true]
        let pts = ThresholdSweep.evaluate(scores: scores, labels: labels, thresholds: [-1, 0, 0.5, 0.95])
        #expect(pts[0].metrics.truePositives == 3 && pts[0].metrics.falsePositives == 2)
        #expect(pts[1].metrics.truePositives == 2 && pts[1].metrics.falsePositives == 1)  // reward > 0
        #expect(pts[2].metrics.truePositives == 2 && pts[2].metrics.falsePositives == 0)
        #expect(pts[3].metrics.truePositives == 0 && !pts[3].metrics.precision.isDefined)
        for p in pts {
            let direct = BinaryDecisionMetrics(predicted: scores.map { $0 > p.threshold }, actual: labels)
            #expect(direct == p.metrics)
        }
    }
}

@Suite struct WeightedStatisticTests {
    /// A weighted statistic must equal the plain statistic on data expanded by the weights:
    /// that identity is what makes the user bootstrap exact.
    @Test func integerWeightsEqualExpansion() {
        var g = SeededGenerator(seed: 9)
        for trial in 0..<20 {
            let n = 5 + g.nextIndex(40)
            let x = (0..<n).map { _ in Double(1 + g.nextIndex(5)) }
            let y = (0..<n).map { i in (x[i] * 0.3 + g.nextGaussian() * 0.5 * 10).rounded() / 10 }
            let w = (0..<n).map { _ in Double(g.nextIndex(4)) }
            var ex: [Double] = [], ey: [Double] = []
            for i in 0..<n { for _ in 0..<Int(w[i]) { ex.append(x[i]); ey.append(y[i]) } }
            let s = PairedSample(x: x, y: y)
            func same(_ a: Estimate, _ b: Estimate) -> Bool {
                switch (a, b) {
                case (.value(let u), .value(let v)): return abs(u - v) < 1e-12
                case (.undefined, .undefined): return true
                default: return false
                }
            }
            #expect(same(s.pearson(weights: w), Correlation.pearson(ex, ey)), "pearson trial \(trial)")
            #expect(same(s.spearman(weights: w), Correlation.spearman(ex, ey)), "spearman trial \(trial)")
            #expect(same(s.kendallTauB(weights: w), Correlation.kendallTauB(ex, ey)), "kendall trial \(trial)")
            let labels = x.map { $0 >= 4 }
            let el = ex.map { $0 >= 4 }
            #expect(same(LabeledScores(scores: y, labels: labels).auc(weights: w), ROC.auc(scores: ey, labels: el)), "auc trial \(trial)")
        }
    }

    /// Knight's O(n log n) τ-b against the O(n²) definition on random tied data.
    @Test func kendallMatchesQuadraticDefinition() {
        var g = SeededGenerator(seed: 4)
        for _ in 0..<30 {
            let n = 2 + g.nextIndex(60)
            let x = (0..<n).map { _ in Double(g.nextIndex(6)) }
            let y = (0..<n).map { _ in Double(g.nextIndex(4)) }
            var nc = 0.0, nd = 0.0, tx = 0.0, ty = 0.0
            for i in 0..<n {
                for j in (i + 1)..<max(i + 1, n) {
                    let a = (x[i] - x[j]).sign == .minus ? -1.0 : (x[i] == x[j] ? 0 : 1)
                    let b = (y[i] - y[j]).sign == .minus ? -1.0 : (y[i] == y[j] ? 0 : 1)
                    if a * b > 0 { nc += 1 } else if a * b < 0 { nd += 1 }
                    if a == 0 && b != 0 { tx += 1 }
                    if b == 0 && a != 0 { ty += 1 }
                }
            }
            let expected = (nc + nd + tx) * (nc + nd + ty) > 0 ? (nc - nd) / ((nc + nd + tx) * (nc + nd + ty)).squareRoot() : nil
            #expect(matches(Correlation.kendallTauB(x, y), expected, 1e-12))
        }
    }

    @Test func expectedTieRuleLiesBetweenBounds() {
        var g = SeededGenerator(seed: 12)
        for _ in 0..<50 {
            let n = 3 + g.nextIndex(30)
            let s = (0..<n).map { _ in Double(g.nextIndex(3)) }
            let r = (0..<n).map { _ in Double(g.nextIndex(2)) }
            guard r.contains(1) else { continue }
            let k = 1 + g.nextIndex(10)
            let lo = RankingEvaluation.evaluate(scores: s, relevance: r, k: k, ties: .pessimistic)
            let mid = RankingEvaluation.evaluate(scores: s, relevance: r, k: k, ties: .expected)
            let hi = RankingEvaluation.evaluate(scores: s, relevance: r, k: k, ties: .optimistic)
            for (a, b, c) in [(lo.ndcg, mid.ndcg, hi.ndcg), (lo.hit, mid.hit, hi.hit), (lo.mrr, mid.mrr, hi.mrr), (lo.recall, mid.recall, hi.recall)] {
                #expect(a.value! <= b.value! + 1e-12 && b.value! <= c.value! + 1e-12)
            }
        }
        // A constant scorer gets the random-ranking expectation: recall@k = k / n.
        let flat = RankingEvaluation.evaluate(scores: [Double](repeating: 0, count: 10), relevance: [1, 0, 0, 1, 0, 0, 0, 0, 0, 0], k: 5)
        #expect(matches(flat.recall, 0.5, 1e-12))
        #expect(matches(flat.hit, 1 - (8.0 / 10 * 7 / 9 * 6 / 8 * 5 / 7 * 4 / 6), 1e-12))
    }
}
