import Foundation
import Testing
@testable import RecEvaluation

/// The reference values written by Notebooks-as-Scripts/make_stat_fixtures.py (scipy/numpy).
struct StatFixtures: Decodable {
    struct Corr: Decodable { let name: String; let x: [Double]; let y: [Double]; let pearson: Double?; let spearman: Double?; let kendall_tau_b: Double? }
    struct AUC: Decodable { let name: String; let scores: [Double]; let labels: [Bool]; let auc: Double? }
    struct RankMetrics: Decodable { let ndcg: Double; let recall: Double; let hit: Double; let mrr: Double }
    struct Ranking: Decodable {
        let name: String; let scores: [Double]; let relevance: [Double]; let k: Int; let graded: Bool
        let stable: RankMetrics?; let pessimistic: RankMetrics?; let optimistic: RankMetrics?; let expected: RankMetrics?
    }
    struct TQ: Decodable { let df: Double; let p: Double; let q: Double }
    struct NQ: Decodable { let p: Double; let q: Double }
    struct MeanInterval: Decodable { let values: [Double]; let mean: Double; let lower: Double; let upper: Double }
    struct PerUser: Decodable {
        struct Group: Decodable { let x: [Double]; let y: [Double] }
        let users: [Group]; let min_count: Int; let mean: Double; let included: Int; let too_few: Int; let undefined: Int
    }
    struct Holm: Decodable { let p: [Double]; let adjusted: [Double] }

    let correlations: [Corr]
    let auc: [AUC]
    let ranking: [Ranking]
    let t_quantiles: [TQ]
    let normal_quantiles: [NQ]
    let mean_intervals: [MeanInterval]
    let spearman_per_user: PerUser
    let holm: Holm

    /// Located next to this source file, so `swift test` from a checkout finds it without
    /// declaring resources in Package.swift.
    static let shared: StatFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/stat-fixtures.json")
        let data = try! Data(contentsOf: url)
        return try! JSONDecoder().decode(StatFixtures.self, from: data)
    }()
}

func close(_ a: Double, _ b: Double, _ tol: Double = 1e-9) -> Bool {
    abs(a - b) <= tol * max(1, abs(b))
}

/// A defined estimate matching `expected`, or an undefined one where scipy answered NaN.
func matches(_ e: Estimate, _ expected: Double?, _ tol: Double = 1e-9) -> Bool {
    switch (e, expected) {
    case (.value(let v), .some(let x)): return close(v, x, tol)
    case (.undefined, .none): return true
    default: return false
    }
}

@Suite struct FixtureTests {
    let f = StatFixtures.shared

    @Test func correlationsMatchScipy() {
        #expect(f.correlations.count >= 10)
        for c in f.correlations {
            #expect(matches(Correlation.pearson(c.x, c.y), c.pearson), "pearson \(c.name): \(Correlation.pearson(c.x, c.y)) vs \(String(describing: c.pearson))")
            #expect(matches(Correlation.spearman(c.x, c.y), c.spearman), "spearman \(c.name)")
            #expect(matches(Correlation.kendallTauB(c.x, c.y), c.kendall_tau_b), "kendall \(c.name): \(Correlation.kendallTauB(c.x, c.y)) vs \(String(describing: c.kendall_tau_b))")
        }
    }

    @Test func aucMatchesMannWhitney() {
        for c in f.auc {
            let a = ROC.auc(scores: c.scores, labels: c.labels)
            #expect(matches(a, c.auc), "auc \(c.name): \(a)")
            // The trapezoid under the curve's vertices is the same number.
            if case .success(let curve) = ROC.curve(scores: c.scores, labels: c.labels), let x = c.auc {
                #expect(close(curve.auc, x), "curve auc \(c.name)")
                #expect(curve.points.first!.threshold == .infinity)
                #expect(curve.points.last!.falsePositiveRate == 1 && curve.points.last!.truePositiveRate == 1)
            } else {
                #expect(c.auc == nil)
            }
        }
    }

    @Test func rankingMetricsMatchNumpyForEveryTieRule() {
        for c in f.ranking {
            let rules: [(TieRule, StatFixtures.RankMetrics?)] = [
                (.stable, c.stable), (.pessimistic, c.pessimistic), (.optimistic, c.optimistic), (.expected, c.expected),
            ]
            for (rule, expected) in rules {
                let got = RankingEvaluation.evaluate(scores: c.scores, relevance: c.relevance, k: c.k,
                                                     gain: c.graded ? .graded : .binary, ties: rule)
                let label = "\(c.name) k=\(c.k) graded=\(c.graded) \(rule)"
                guard let e = expected else {
                    #expect(!got.ndcg.isDefined && !got.recall.isDefined && !got.hit.isDefined, "\(label) should be undefined")
                    continue
                }
                #expect(matches(got.ndcg, e.ndcg), "ndcg \(label): \(got.ndcg) vs \(e.ndcg)")
                #expect(matches(got.recall, e.recall), "recall \(label): \(got.recall) vs \(e.recall)")
                #expect(matches(got.hit, e.hit), "hit \(label): \(got.hit) vs \(e.hit)")
                #expect(matches(got.mrr, e.mrr), "mrr \(label): \(got.mrr) vs \(e.mrr)")
            }
        }
    }

    @Test func studentTQuantilesMatchScipy() {
        for c in f.t_quantiles {
            let q = StudentT.quantile(c.p, df: c.df)
            #expect(close(q, c.q, 1e-9), "t.ppf(\(c.p), \(c.df)) = \(c.q), got \(q)")
            if abs(c.q) < 1e6 {
                #expect(close(StudentT.cdf(c.q, df: c.df), c.p, 1e-9), "t.cdf round trip df=\(c.df) p=\(c.p)")
            }
        }
    }

    @Test func normalQuantilesMatchScipy() {
        for c in f.normal_quantiles {
            #expect(close(Normal.quantile(c.p), c.q, 1e-12), "norm.ppf(\(c.p))")
        }
    }

    @Test func seedIntervalsMatchScipyTInterval() {
        for c in f.mean_intervals {
            let s = SeedSummary(c.values)
            #expect(matches(s.mean, c.mean, 1e-12))
            let ci = s.interval.interval
            #expect(ci != nil)
            #expect(close(ci!.lower, c.lower, 1e-9) && close(ci!.upper, c.upper, 1e-9), "n=\(c.values.count)")
        }
    }

    @Test func meanPerUserSpearmanCountsExclusions() {
        let c = f.spearman_per_user
        let r = PerUserCorrelation.meanSpearman(c.users.map { ($0.x, $0.y) }, minimumCount: c.min_count)
        #expect(matches(r.mean, c.mean, 1e-12))
        #expect(r.included == c.included)
        #expect(r.excluded[PerUserCorrelation.tooFewReason(c.min_count)] == c.too_few)
        #expect(r.excludedTotal - c.too_few == c.undefined)
    }

    @Test func holmMatchesReference() {
        let got = MultipleComparisons.holm(f.holm.p)
        for (a, b) in zip(got, f.holm.adjusted) { #expect(close(a, b, 1e-15)) }
    }
}
