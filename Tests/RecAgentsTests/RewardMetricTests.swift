import Foundation
import Testing
@testable import RecAgents
import RecDistances


/// The ELLM reward of an agent can be driven by any rationale metric of a registry.
@Suite struct RewardMetricTests {
    @Test func anyRationaleMetricDrivesTheELLMReward() throws {
        let d = try tinyWorld()
        let registry = MetricRegistry.standard
        for name in ["sbert-cosine", "calibrated-cosine", "learned-bilinear", "hybrid:alpha=0.25", "spec-softmax"] {
            var r = try ELLMAgentReward.make(dataset: d, seed: 1, metric: try registry.metric(named: name))
            r.beginEpisode(user: d.users[0].id)
            let paid = (0..<d.itemCount).map { r.reward(for: $0) }
            #expect(paid.allSatisfy { $0.isFinite }, "\(name)")
            // One rationale per user: paid at most once per episode, whatever the metric.
            #expect(paid.filter { $0 != 0 }.count <= 1 && r.achievedThisEpisode == paid.filter { $0 != 0 }.count, "\(name)")
        }
        // The default is ELLM's cosine, paid as before.
        var a = try ELLMAgentReward.make(dataset: d, seed: 1)
        var b = try ELLMAgentReward.make(dataset: d, seed: 1, metric: SBERTCosine())
        a.beginEpisode(user: d.users[1].id); b.beginEpisode(user: d.users[1].id)
        #expect((0..<d.itemCount).map { a.reward(for: $0) } == (0..<d.itemCount).map { b.reward(for: $0) })
    }

    @Test func metricsThatCannotDriveTheRewardAreRefusedByName() throws {
        let d = try tinyWorld()
        for (metric, message) in [(PopularityScore() as any DescriptionDistance, "popularity"), (BERTScoreF1(), "token embeddings")] {
            do {
                _ = try ELLMAgentReward.make(dataset: d, seed: 1, metric: metric)
                Issue.record("\(metric.name) was accepted")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}
