import Foundation
import RecNumerics
import RecNN
import Testing
@testable import RecAgents
import RecDistances

/// ELLM's two unsupervised baselines as rewards: APT's particle entropy and goal novelty.
@Suite struct ELLMBaselineRewardTests {
    /// Three points on a line, unit apart, as "embeddings" (APT does not need them normalised).
    static let line = Matrix(rows: 4, cols: 2, storage: [0, 0, 1, 0, 2, 0, 10, 0])

    @Test func aptPaysTheLogOfOnePlusTheMeanKNearestDistanceToTheWindow() {
        var r = APTReward(embeddings: Self.line, k: 2, capacity: 3)
        #expect(r.reward(for: 0) == 0, "nothing shown yet: no particles")
        #expect(abs(r.reward(for: 1) - log(2.0)) < 1e-12, "one neighbour at distance 1: log(1 + 1)")
        // Window {0, 1}; item 2 is at distances 2 and 1: mean 1.5.
        #expect(abs(r.reward(for: 2) - log(2.5)) < 1e-12)
        // Window {0, 1, 2}; item 3 at 10, 9, 8: the two nearest are 8 and 9.
        #expect(abs(r.reward(for: 3) - log(9.5)) < 1e-12)
        // The window holds 3 items, oldest overwritten first: item 0 gave way to item 3.
        #expect(r.shown == [3, 1, 2] && r.position == 1)
        // Item 1 again: distances to 3, 1, 2 are 9, 0, 1 → nearest 0 and 1.
        #expect(abs(r.reward(for: 1) - log(1.5)) < 1e-12)
        // Showing the same item over and over pays less and less (to log 1 = 0).
        var same = APTReward(embeddings: Self.line, k: 2, capacity: 8)
        _ = same.reward(for: 3)
        let paid = (0..<4).map { _ in same.reward(for: 3) }
        #expect(paid.allSatisfy { $0 == 0 })
    }

    @Test func aptSurvivesACheckpoint() throws {
        var a = APTReward(embeddings: Self.line, k: 2, capacity: 3)
        for i in [0, 1, 2, 3] { _ = a.reward(for: i) }
        var b = APTReward(embeddings: Self.line, k: 2, capacity: 3)
        try b.restore(from: a.checkpointTensors(), file: "x")
        #expect(b.shown == a.shown && b.position == a.position)
        #expect(a.reward(for: 2) == b.reward(for: 2))
        var bad = APTReward(embeddings: Self.line, k: 2, capacity: 3)
        #expect(throws: CheckpointError.self) { try bad.restore(from: ["shown": StoredTensor(shape: [1], ints: [99]), "position": StoredTensor(shape: [1], ints: [0])], file: "x") }
    }

    /// Every user has every distinct rationale as a goal; each is paid once per episode at most,
    /// and what is paid is what the ELLM reward pays a user whose rationales are all of them.
    @Test func goalNoveltyGivesEveryUserEveryGoalOncePerEpisode() throws {
        let d = try tinyWorld(users: 30, items: 60)
        var novelty = try ELLMAgentReward.makeGoalNovelty(dataset: d, seed: 1)
        #expect(novelty.name == "ellm-novelty")
        let distinct = Set(d.rationales.flatMap { $0 }).count
        #expect(distinct > 1)
        for u in [d.users[0].id, d.users[7].id] {
            novelty.beginEpisode(user: u)
            var achieved = 0
            for i in 0..<d.itemCount {
                let before = novelty.achievedThisEpisode
                let r = novelty.reward(for: i)
                #expect(r.isFinite)
                #expect((r > 0) == (novelty.achievedThisEpisode > before), "paid exactly when a new goal is achieved")
                achieved = novelty.achievedThisEpisode
            }
            #expect(achieved <= distinct && achieved > 1, "more goals than the user's own one are reachable")
        }
        // The same goals for two users: the first item's reward does not depend on the user.
        novelty.beginEpisode(user: d.users[0].id)
        let a = novelty.reward(for: 5)
        novelty.beginEpisode(user: d.users[9].id)
        #expect(novelty.reward(for: 5) == a)
    }

    @Test func compareKnowsTheBaselinesByTheirELLMNames() throws {
        #expect(try Methods.pretrainReward("dqn-apt") == "apt")
        #expect(try Methods.pretrainReward("dqn-ellm-novelty") == "ellm-novelty")
        #expect(try RewardSpec(parsing: "ellm-novelty").usesRationales && !(try RewardSpec(parsing: "apt").usesRationales))
        let d = try tinyWorld(users: 30, items: 60)
        for method in ["dqn-apt", "dqn-ellm-novelty"] {
            let sim = try UserSimulator(dataset: d, seed: 1)
            let c = tinyConfiguration(method: method, pretrain: 300, finetune: 300, reward: try Methods.pretrainReward(method))
            let result = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false).run()
            #expect(result.finished && result.evaluation("zero-shot") != nil, "\(method)")
            #expect(result.curve.contains { $0.phase == "pretrain" && $0.meanReturn > 0 }, "\(method): the pretraining reward pays something")
        }
    }
}
