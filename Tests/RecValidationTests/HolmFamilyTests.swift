import Foundation
import Testing
import RecDistances
import RecEvaluation
import RecKit
import RecNumerics
@testable import RecRewards
@testable import RecValidation

/// A control under any name, scoring item i with `weight`·i plus seeded noise: stands in for the
/// reference metrics (`centroid-cosine`, `sbert-cosine`) in a setup without embeddings.
private struct NamedControl: DescriptionDistance {
    var name: String
    var weight: Float
    var summary: String { "test control" }
    var needs: MetricNeeds { [] }
    var range: ClosedRange<Double>? { nil }
    func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        Matrix(rows: items.count, cols: 1, storage: items.map { i in
            var g = SeededGenerator(seed: UInt64(i) &* 31 &+ UInt64(user.userID))
            return weight * Float(i) + 20 * Float(g.nextUnit())
        })
    }
}

/// Holm's step-down adjustment written out from its definition (Holm 1979), independently of
/// `MultipleComparisons.holm`: the i-th smallest of m p-values (1-based) is multiplied by
/// m − i + 1, a running maximum keeps the order, and values are capped at 1.
private func handHolm(_ p: [Double]) -> [Double] {
    let m = p.count
    let order = p.indices.sorted { (p[$0], $0) < (p[$1], $1) }
    var out = [Double](repeating: 0, count: m), running = 0.0
    for (i, k) in order.enumerated() {
        running = max(running, Swift.min(1, p[k] * Double(m - i)))
        out[k] = running
    }
    return out
}

/// Item 1 of issue 16: Holm corrects within two families — every metric against the
/// no-rationale control, and every metric against ELLM's metric — not over all metric pairs.
@Suite struct HolmFamilyTests {
    @Test func knownPValuesAdjustWithinTheirFamilyOnly() {
        // Family A: 0.01, 0.04, 0.03 (m = 3) → 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1 = 0.04, raised
        // to the running maximum 0.06. Family B holds one test: unchanged. Undefined stays
        // undefined and does not count towards m.
        let (adjusted, size) = RewardValidation.holmByFamily(
            [.value(0.01), .value(0.04), .value(0.03), .value(0.02), .undefined(reason: "no users")],
            families: ["A", "A", "A", "B", "A"])
        let expected: [Double?] = [0.03, 0.06, 0.06, 0.02, nil]
        for k in expected.indices {
            if let e = expected[k] { #expect(abs(adjusted[k].value! - e) < 1e-15, "\(k): \(adjusted[k])") }
            else { #expect(!adjusted[k].isDefined) }
        }
        #expect(size == [3, 3, 3, 1, 3])
    }

    @Test func twelveMetricsMakeTwoFamiliesOfEleven() {
        let names = ["sbert-cosine", "sbert-dot", "calibrated-cosine", "csls-cosine", "bertscore-f1", "maxsim",
                     "tfidf-cosine", "bm25", "jaccard", "centroid-cosine", "popularity", "random"]
        let plan = RewardValidation.comparisonPlan(metrics: names, baseline: "centroid-cosine", ellm: "sbert-cosine")
        let control = plan.filter { $0.family == RewardValidation.controlFamily }
        let ellm = plan.filter { $0.family == RewardValidation.ellmFamily }
        #expect(control.count == 11 && ellm.count == 11)  // k − 1 each, not k(k − 1)/2 = 66
        #expect(control.allSatisfy { names[$0.b] == "centroid-cosine" && $0.a != $0.b })
        #expect(ellm.allSatisfy { names[$0.b] == "sbert-cosine" && $0.a != $0.b })
        // A reference that is not among the metrics has no family.
        #expect(RewardValidation.comparisonPlan(metrics: ["bm25", "random"], baseline: "random", ellm: "sbert-cosine").count == 1)
    }

    @Test func requestedPairsFormTheirOwnFamily() {
        let names = ["learned-both", "learned-history", "sbert-cosine", "centroid-cosine"]
        let plan = RewardValidation.comparisonPlan(metrics: names, baseline: "centroid-cosine", ellm: "sbert-cosine",
                                                   requested: [ComparisonRequest(a: "learned-both", b: "learned-history"),
                                                               ComparisonRequest(a: "learned-both", b: "not-run")])
        let requested = plan.filter { $0.family == RewardValidation.requestedFamily }
        #expect(requested.count == 1 && names[requested[0].a] == "learned-both" && names[requested[0].b] == "learned-history")
        #expect(plan.count == 3 + 3 + 1)
    }

    @Test func aValidationRunReportsBothFamiliesWithHolmWithinEach() throws {
        let metrics: [any DescriptionDistance] = [PopularityScore(), RandomScore(),
                                                  NamedControl(name: "sbert-cosine", weight: 1),
                                                  NamedControl(name: "centroid-cosine", weight: 0.5)]
        var c = RewardValidationConfiguration(dataset: "toy", split: "s", reasoner: "none", metrics: metrics.map(\.name))
        c.bootstrapResamples = 200
        c.permutations = 500
        let r = try RewardValidation.run(setup: monotoneSetup(), metrics: metrics, configuration: c, showProgress: false)
        // k = 4 metrics: 3 tests per family and statistic, 2 families, 2 statistics.
        #expect(r.comparisons.count == 12)
        #expect(r.comparisons.allSatisfy { $0.familySize == 3 })
        for family in [RewardValidation.controlFamily, RewardValidation.ellmFamily] {
            for statistic in ["auc", "ndcg@10"] {
                let group = r.comparisons.filter { $0.family == family && $0.statistic == statistic }
                #expect(group.count == 3)
                let reference = family == RewardValidation.controlFamily ? "centroid-cosine" : "sbert-cosine"
                #expect(group.allSatisfy { $0.b == reference })
                let expected = handHolm(group.map { $0.difference.pValue.value! })
                for (g, e) in zip(group, expected) { #expect(abs(g.holmPValue.value! - e) < 1e-15, "\(family) \(statistic) \(g.a)") }
            }
        }
        // Reported with the family and its size: the Markdown table, the terminal and the JSON.
        let md = ValidationReportWriter.markdown(r)
        #expect(md.contains("vs-control (3)") && md.contains("vs-ellm (3)"))
        let terminal = ValidationReportWriter.terminal(r)
        #expect(terminal.contains("against the no-rationale control centroid-cosine") && terminal.contains("against ELLM's sbert-cosine"))
        let json = try JSONSerialization.jsonObject(with: try ValidationReportWriter.json(r)) as! [String: Any]
        let first = (json["comparisons"] as! [[String: Any]])[0]
        #expect(first["family"] as? String == "vs-control" && first["family_size"] as? Int == 3)  // report.json schema 2: snake_case
    }
}
