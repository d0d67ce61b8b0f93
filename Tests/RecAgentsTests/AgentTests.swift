import Foundation
import Testing
import RecData
import RecKit
import RecNN
@testable import RecAgents

@Suite(.serialized) struct AgentTests {
    @Test func rankingMetricsOnAHandMadeRanking() {
        // Scores rank items 4, 2, 0, 3, 1; item 2 is excluded (training history).
        let scores: [Float] = [0.7, 0.1, 0.8, 0.5, 0.9]
        let ranking = TopK.rank(scores, excluding: [2], k: 3)
        #expect(ranking == [4, 0, 3])
        let relevant: Set<Int> = [0, 1]
        #expect(TopK.hit(ranking, relevant: relevant) == 1)
        // One hit at rank 2: DCG = 1/log2(3); IDCG over min(2, 3) = 2 hits: 1 + 1/log2(3).
        let expected = (1 / log2(3.0)) / (1 + 1 / log2(3.0))
        #expect(abs(TopK.ndcg(ranking, relevant: relevant, k: 3) - expected) < 1e-12)
        #expect(TopK.hit(ranking, relevant: [1]) == 0)
        #expect(TopK.ndcg(ranking, relevant: [1], k: 3) == 0)
        // Ties go to the lower index.
        #expect(TopK.rank([1, 1, 1], excluding: [], k: 2) == [0, 1])
    }

    @Test func trueModelAndMatrixFactorisation() throws {
        let d = try tinyWorld(users: 150, items: 60, ratings: 30...50)
        // The true model reproduces the stored ratings' ordering: expected ratings correlate with them.
        var xs: [Double] = [], ys: [Double] = []
        for (u, user) in d.users.enumerated() {
            for (i, r) in user.trainRatings { xs.append(d.tastes[u]!.expectedRating(of: d.itemFields[i])); ys.append(r) }
        }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let cov = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let corr = cov / (xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) } * ys.reduce(0) { $0 + ($1 - my) * ($1 - my) }).squareRoot()
        #expect(corr > 0.7, "true-model correlation \(corr)")
        // MF fitted on the training split predicts held-out ratings well below their spread.
        let sim = UserSimulator(dataset: d, seed: 1)
        #expect(sim.heldOutRMSE < 0.85 * sim.heldOutSD, "MF RMSE \(sim.heldOutRMSE) vs SD \(sim.heldOutSD)")
    }

    @Test func simulatorMasksAndObservedOnlyMode() throws {
        var d = try tinyWorld()
        d.tastes = [:]  // answer from held-out ratings and MF, as on a real dataset
        let sim = UserSimulator(dataset: d, seed: 1)
        let u = d.users.indices.first { d.users[$0].heldOut.count >= 4 }!
        let known = d.users[u].heldOut.first!
        #expect(sim.rating(user: u, item: known.key) == known.value)
        #expect(sim.source(user: u, item: known.key) == .heldOut)
        var env = try RecommendationEnvironment(simulator: sim, episodeLength: 4, historyLength: 3)
        try env.reset(user: u)
        for i in d.users[u].history { #expect(!env.allowed[i]) }
        let first = env.allowed.firstIndex(of: true)!
        let before = env.allowedCount
        let response = env.recommend(first)
        #expect(!env.allowed[first] && env.allowedCount == before - 1)
        #expect(env.history.last == (response.liked ? first : d.users[u].history.last))
        // Observed-only: exactly the held-out items are actions.
        var obs = try RecommendationEnvironment(simulator: sim, episodeLength: 2, historyLength: 3, observedOnly: true)
        try obs.reset(user: u)
        #expect(Set(obs.allowed.indices.filter { obs.allowed[$0] }) == Set(d.users[u].heldOut.keys))
        // Impossible settings are clear errors.
        #expect(throws: AgentError.self) { _ = try RecommendationEnvironment(simulator: sim, episodeLength: d.itemCount + 1, historyLength: 3) }
        var tooLong = try RecommendationEnvironment(simulator: sim, episodeLength: d.users[u].heldOut.count + 1, historyLength: 3, observedOnly: true)
        #expect { try tooLong.reset(user: u) } throws: { e in
            guard case AgentError.emptyActionSet = e else { return false }
            return true
        }
    }

    @Test func sameSeedSameMetricsAndDifferentSeedDiffers() throws {
        let d = try tinyWorld()
        let sim = UserSimulator(dataset: d, seed: 1)
        func run(_ seed: UInt64) throws -> RunResult {
            try TrainingRun(configuration: tinyConfiguration(method: "dqn-count-novelty", seed: seed, pretrain: 500, finetune: 500, reward: "count-novelty"),
                            simulator: sim, checkpointDirectory: nil, showProgress: false).run()
        }
        let a = try run(7), b = try run(7), c = try run(8)
        #expect(a.evaluations == b.evaluations)
        #expect(a.curve == b.curve)
        #expect(a.evaluations != c.evaluations)
    }

    @Test func killAndResumeGivesTheUninterruptedResult() throws {
        let d = try tinyWorld()
        let sim = UserSimulator(dataset: d, seed: 1)
        // RND carries state (predictor, Adam, running std) across the checkpoint.
        var c = tinyConfiguration(method: "dqn-rnd", seed: 3, pretrain: 600, finetune: 600, reward: "rnd")
        c.checkpointEvery = 400
        let straight = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: temporaryDirectory(), showProgress: false).run()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let stopped = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: dir, showProgress: false).run(stopAfterStep: 800)
        #expect(!stopped.finished && stopped.steps == 800)
        // Mid-pretraining stop too: a second process resumes from step 800 (in the fine-tune phase).
        let resumed = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: dir, showProgress: false).run(resume: true)
        #expect(resumed.finished && resumed.steps == straight.steps)
        #expect(resumed.evaluations == straight.evaluations)
        #expect(resumed.curve == straight.curve)
        #expect(resumed.updates == straight.updates)
        // A different configuration refuses the checkpoint, naming the file.
        var other = c
        other.dqn.learningRate = 0.01
        #expect { try TrainingRun(configuration: other, simulator: sim, checkpointDirectory: dir, showProgress: false).run(resume: true) } throws: { e in
            guard case let CheckpointError.mismatch(file, reason) = e else { return false }
            return file.hasSuffix(".json") && reason.contains("dqn")
        }
    }

    @Test func mismatchedCatalogCheckpointIsRefused() throws {
        let d = try tinyWorld()
        let sim = UserSimulator(dataset: d, seed: 1)
        var c = tinyConfiguration(pretrain: 0, finetune: 400)
        c.checkpointEvery = 200
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: dir, showProgress: false).run(stopAfterStep: 200)
        // Corrupt the tensors: truncate the safetensors file.
        let file = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".safetensors") }!
        let url = dir.appendingPathComponent(file)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        #expect { try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: dir, showProgress: false).run(resume: true) } throws: { e in
            (e as? CheckpointError)?.description.contains(url.path) == true
        }
    }

    @Test func extrinsicDQNBeatsRandom() throws {
        let d = try tinyWorld(users: 120, items: 150, ratings: 20...40, rationales: false)
        let sim = UserSimulator(dataset: d, seed: 1)
        var c = tinyConfiguration(finetune: 6000)
        c.dqn.stateHidden = [64]
        c.dqn.towerWidth = 32
        c.evaluationUsers = 30
        let runner = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false)
        let result = try runner.run()
        var random = RandomPolicy(items: d.itemCount, seed: 1)
        let baseline = try runner.makeEvaluator().evaluate(&random)
        let trained = result.evaluation("final")!
        #expect(trained.meanRating > baseline.meanRating + 0.3, "DQN \(trained.meanRating) vs random \(baseline.meanRating)")
        #expect(trained.meanRating > result.evaluation("zero-shot")!.meanRating)
    }

    @Test func rewardsBehaveAsSpecified() throws {
        let d = try tinyWorld()
        let sim = UserSimulator(dataset: d, seed: 1)
        var novelty: any AgentReward = try RewardSpec(parsing: "count-novelty").make(simulator: sim, seed: 1)
        #expect(novelty.reward(for: 3) == 1)
        #expect(abs(novelty.reward(for: 3) - 1 / 2.0.squareRoot()) < 1e-12)
        var ext = ExtrinsicReward(simulator: sim)
        ext.beginEpisode(userIndex: 0)
        let r = ext.reward(for: 5)
        #expect(abs(r - (sim.rating(user: 0, item: 5) - 1) / 4) < 1e-12)
        var ellm = try RewardSpec(parsing: "ellm").make(simulator: sim, seed: 1)
        ellm.beginEpisode(user: d.users[0].id)
        // Paying once per rationale: with one rationale per user, at most one positive reward per episode.
        let paid = (0..<d.itemCount).map { ellm.reward(for: $0) }.filter { $0 > 0 }.count
        #expect(paid <= 1 && ellm.achievedThisEpisode == paid)
        var sum = try RewardSpec(parsing: "0.5*count-novelty+extrinsic").make(simulator: sim, seed: 1)
        sum.beginEpisode(user: d.users[0].id)
        #expect(abs(sum.reward(for: 7) - (0.5 + (sim.rating(user: 0, item: 7) - 1) / 4)) < 1e-9)
        var rnd = RNDReward(embeddings: d.embeddings, seed: 1)
        let first = rnd.reward(for: 2)
        for _ in 0..<50 { _ = rnd.reward(for: 2) }
        #expect(rnd.reward(for: 2) < first, "RND's prediction error on a repeated item shrinks")
        #expect(throws: AgentError.self) { _ = try RewardSpec(parsing: "curiosity") }
    }
}
