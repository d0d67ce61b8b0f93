import Foundation
import Testing
import RecData
import RecKit
@testable import RecAgents

/// Docs/dqn.md, "Reproducibility": the run seed drives what the agent draws; the simulator (MF
/// fit, synthetic noise) has its own seed (`rec-train --simulator-seed`, default 1), shared by
/// every method and run seed of a comparison.
@Suite(.serialized) struct SeedFlowTests {
    @Test func theSimulatorsModelIsAFunctionOfTheSimulatorSeed() throws {
        let d = try tinyWorld(users: 30, items: 50)
        let a = UserSimulator(dataset: d, seed: 1), b = UserSimulator(dataset: d, seed: 1), c = UserSimulator(dataset: d, seed: 2)
        #expect(a.seed == 1 && c.seed == 2)
        let pairs = (0..<30).flatMap { u in (0..<50).map { (u, $0) } }
        #expect(pairs.allSatisfy { a.model.predict(user: $0.0, item: $0.1) == b.model.predict(user: $0.0, item: $0.1) })
        #expect(pairs.contains { a.model.predict(user: $0.0, item: $0.1) != c.model.predict(user: $0.0, item: $0.1) })
    }

    @Test func countNoveltyIsTheCountRewardAndNoveltyItsDeprecatedAlias() throws {
        // 1/√n: the first recommendation of an item pays 1, the second 1/√2.
        let d = try tinyWorld(users: 20, items: 40)
        let sim = UserSimulator(dataset: d, seed: 1)
        for name in ["count-novelty", "novelty"] {
            var r = try RewardSpec(parsing: name).make(simulator: sim, seed: 1)
            #expect(r.name == "count-novelty")
            #expect(r.reward(for: 3) == 1 && abs(r.reward(for: 3) - 1 / 2.0.squareRoot()) < 1e-12)
        }
        #expect(try RewardSpec(parsing: "0.5*novelty+extrinsic").description == "0.5*count-novelty+extrinsic")
        #expect(RewardSpec.deprecationNotes("ellm+0.5*novelty-cluster").count == 1)
        #expect(RewardSpec.deprecationNotes("ellm+0.5*count-novelty").isEmpty)
        #expect(try Methods.pretrainReward("dqn-count-novelty") == "count-novelty" && Methods.pretrainReward("dqn-novelty") == "count-novelty")
    }
}
