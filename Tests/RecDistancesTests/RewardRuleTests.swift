import Foundation
import Testing
import RecKit
import RecNumerics
@testable import RecDistances
@testable import RecRewards

/// A rationale metric whose every score is the number of items it was asked about in the call:
/// a percentile threshold resolved with it equals the size of the threshold sample.
private struct SampleSizeProbe: DescriptionDistance {
    var name: String { "sample-size-probe" }
    var summary: String { "scores every item with the batch size" }
    var needs: MetricNeeds { [.rationales] }
    var range: ClosedRange<Double>? { nil }
    func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        Matrix(rows: items.count, cols: max(1, user.rationales.count),
               storage: [Float](repeating: Float(items.count), count: items.count * max(1, user.rationales.count)))
    }
}

/// The claims Docs/metrics.md and Docs/evaluation-statistics.md make about the reward rule.
@Suite struct RewardRuleTests {
    let config = ELLMRewardConfiguration(threshold: .absolute(0.5), payout: .similarity, scale: 1, filterAchieved: true)

    /// ELLM pays a similarity only when it *exceeds* the threshold (Du et al. 2023, "> T").
    @Test func aSimilarityExactlyAtTheThresholdPaysNothing() {
        let at = ELLMReward.decide(similarities: [0.5], thresholds: [0.5], configuration: config)
        #expect(at.reward == 0 && at.achieved.isEmpty)
        var binary = config; binary.payout = .binary
        #expect(ELLMReward.decide(similarities: [0.5, 0.25], thresholds: [0.5, 0.25], configuration: binary).reward == 0)
        // The next float above the threshold pays (and is achieved).
        let above = ELLMReward.decide(similarities: [Float(0.5).nextUp], thresholds: [0.5], configuration: config)
        #expect(above.reward == Double(Float(0.5).nextUp) && above.achieved == [0])
    }

    /// Percentile thresholds are estimated on a seeded sample of 256 catalog items, or the whole
    /// catalog when it is smaller (Docs/metrics.md).
    @Test func percentileThresholdsUseAtMost256CatalogItems() throws {
        for (items, expected) in [(1_000, 256), (256, 256), (100, 100)] {
            let catalog = ScoringCatalog(texts: (0..<items).map { "item \($0)" }, popularity: [Float](repeating: 0, count: items))
            let context = ScoringContext(catalog: catalog, rationales: RationaleSet(texts: ["a", "b"]), seed: 1)
            let user = UserQuery(userID: 1, rationales: 0..<2, likedItems: [])
            let t = try ResolvedThresholds.resolve(.percentile(0.9), metric: SampleSizeProbe(), context: context, users: [user])
            #expect(t.values == [Float(expected), Float(expected)], "catalog of \(items)")
        }
    }

    /// A metric that scores every item alike puts its percentile threshold on that score, and the
    /// strict rule then pays nothing: a constant reward carries no signal.
    @Test func aConstantMetricNeverPaysUnderAPercentileThreshold() throws {
        let catalog = ScoringCatalog(texts: (0..<50).map { "item \($0)" }, popularity: [Float](repeating: 0, count: 50))
        let context = ScoringContext(catalog: catalog, rationales: RationaleSet(texts: ["a"]), seed: 1)
        let user = UserQuery(userID: 7, rationales: 0..<1, likedItems: [])
        var reward = try ELLMReward(configuration: ELLMRewardConfiguration(threshold: .percentile(0.9)), metric: SampleSizeProbe(),
                                    context: context, users: [user])
        reward.beginEpisode(user: 7)
        #expect(reward.reward(for: 3) == 0)
    }
}
