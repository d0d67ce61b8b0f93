import Foundation
import RecData
import RecNN
import RecNumerics
import Testing
@testable import RecAgents

/// The pieces of the DQN a reader checks against the papers: n-step returns, Polyak averaging,
/// the non-double target, and ELLM's goal conditioning on the rationales not yet achieved.
@Suite struct DQNMechanicsTests {
    /// One user, four items on the unit circle, three rationales with known embeddings.
    static func handMadeDataset() -> AgentDataset {
        let items = Matrix(rows: 4, cols: 2, storage: [1, 0, 0, 1, -1, 0, 0, -1])
        let user = AgentUser(id: 1, history: [0], trainRatings: [0: 5], heldOut: [1: 4, 2: 2, 3: 1], test: [1: 4])
        let rationales = Matrix(rows: 3, cols: 2, storage: [1, 0, 0, 1, 3, 4])
        return AgentDataset(name: "hand", split: "s", scale: RatingScale(min: 1, max: 5, likeThreshold: 4), itemIDs: [1, 2, 3, 4],
                            itemTexts: ["a", "b", "c", "d"], itemFields: (0..<4).map { ItemFields(externalID: "\($0)") }, embeddings: items,
                            popularity: [1, 0, 0, 0], users: [user], tastes: [:], rationales: [["r0", "r1", "r2"]],
                            rationaleEmbeddings: rationales, encoderID: "hand")
    }

    static func normalised(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    @Test func theGoalIsTheMeanOfTheRationalesNotYetAchieved() {
        let d = Self.handMadeDataset()
        let f = StateFeaturizer(dataset: d, historyLength: 2, episodeLength: 2, goalConditioned: true)
        func goal(_ mask: UInt32) -> [Float] {
            var out = [Float](repeating: .nan, count: f.size)
            [Int32(0), -1].withUnsafeBufferPointer { h in out.withUnsafeMutableBufferPointer { f.write(user: 0, step: 0, history: h, achieved: mask, into: $0.baseAddress!) } }
            return Array(out[(2 * 2 + 1)...])
        }
        // r2 = (3, 4) is normalised to (0.6, 0.8) when the dataset is built.
        let all = Self.normalised([1 + 0 + 0.6, 0 + 1 + 0.8])
        for (a, b) in zip(goal(0), all) { #expect(abs(a - b) < 1e-6) }
        let withoutR0 = Self.normalised([0.6, 1.8])
        for (a, b) in zip(goal(0b001), withoutR0) { #expect(abs(a - b) < 1e-6) }
        for (a, b) in zip(goal(0b011), [Float(0.6), 0.8]) { #expect(abs(a - b) < 1e-6) }
        #expect(goal(0b111) == [0, 0], "every goal achieved: nothing left to condition on")
        // Without goal conditioning the mask changes nothing.
        let plain = StateFeaturizer(dataset: d, historyLength: 2, episodeLength: 2, goalConditioned: false)
        #expect(plain.size == 2 * 2 + 1)
    }

    @Test func nStepReturnsMatchAHandComputation() throws {
        var c = DQNConfiguration()
        c.episodeLength = 4; c.historyLength = 2; c.nStep = 3; c.gamma = 0.9; c.rewardClip = 0; c.batchSize = 1; c.replayCapacity = 8
        var agent = try DQNAgent(dataset: Self.handMadeDataset(), configuration: c, seed: 1)
        let rewards = [0.1, 0.2, 0.3, 0.4]
        for (t, r) in rewards.enumerated() {
            agent.observe(user: 0, step: t, before: [Int32(t), -1], action: t, reward: r, after: [Int32(t + 1), -1],
                          recommendedAfter: Array(0...t), terminal: t == 3, achievedBefore: UInt32(t), achievedAfter: UInt32(t + 1))
        }
        #expect(agent.replay.count == 4)
        let g = 0.9
        let expected: [(Double, Double)] = [(0.1 + g * 0.2 + g * g * 0.3, g * g * g),  // a full 3-step return, bootstrapped at s₃
                                            (0.2 + g * 0.3 + g * g * 0.4, 0),          // reaches the session's end: no bootstrap
                                            (0.3 + g * 0.4, 0), (0.4, 0)]
        for (i, (ret, discount)) in expected.enumerated() {
            #expect(abs(Double(agent.replay.rewards[i]) - ret) < 1e-6, "return \(i)")
            #expect(abs(Double(agent.replay.discounts[i]) - discount) < 1e-6, "discount \(i)")
            #expect(agent.replay.actions[i] == Int32(i) && agent.replay.steps[i] == Int32(i))
            // The state before is the first step's; the bootstrap state is the last step's.
            #expect(agent.replay.achievedBefore[i] == Int32(i))
            #expect(agent.replay.achievedAfter[i] == Int32(min(i + 3, 4)))
            #expect(agent.replay.after[i * 2] == Int32(min(i + 3, 4)))
        }
    }

    /// A small agent with a filled buffer, from the synthetic world.
    static func filledAgent(_ configure: (inout DQNConfiguration) -> Void) throws -> DQNAgent {
        let d = try tinyWorld(users: 40, items: 60)
        var c = tinyConfiguration().dqn
        c.learningStarts = 0
        configure(&c)
        var agent = try DQNAgent(dataset: d, configuration: c, seed: 3)
        // Fill the buffer with random sessions played by an agent that never learns.
        var quiet = c
        quiet.learningStarts = 1_000_000
        var filler = try DQNAgent(dataset: d, configuration: quiet, seed: 3)
        let sim = try UserSimulator(dataset: d, seed: 1)
        var env = try RecommendationEnvironment(simulator: sim, episodeLength: c.episodeLength, historyLength: c.historyLength)
        var reward: any AgentReward = ExtrinsicReward(simulator: sim)
        var step = 0
        for u in 0..<20 { _ = try filler.runEpisode(environment: &env, user: u, reward: &reward, epsilon: { _ in 1 }, phaseStep: &step) }
        agent.replay = filler.replay
        return agent
    }

    @Test func polyakAveragingBlendsTheTargetAfterEveryUpdate() throws {
        var agent = try Self.filledAgent { $0.polyakTau = 0.25; $0.targetUpdateInterval = 0 }
        // Make the target differ from the online network first.
        agent.update()
        for _ in 0..<3 {
            let oldTarget = agent.target.values
            agent.update()
            for i in stride(from: 0, to: oldTarget.count, by: 97) {
                let expected = 0.75 * oldTarget[i] + 0.25 * agent.online.values[i]
                #expect(abs(agent.target.values[i] - expected) <= 1e-6 * max(1, abs(expected)), "parameter \(i)")
            }
        }
    }

    @Test func theNonDoubleTargetEqualsTheDoubleOneWhileTheNetworksAgreeAndNotAfter() throws {
        var double = try Self.filledAgent { $0.doubleDQN = true; $0.targetUpdateInterval = 0 }
        var plain = try Self.filledAgent { $0.doubleDQN = false; $0.targetUpdateInterval = 0 }
        // Same seed, same buffer, θ′ = θ: argmax by θ is argmax by θ′, so the targets and the losses agree
        // (to rounding: the double path scores s′ inside a 2·batch forward).
        let a = double.update(), b = plain.update()
        #expect(abs(a - b) <= 1e-5 * max(1, abs(a)), "\(a) vs \(b)")
        // The target network stays at θ₀ while θ moves: the two rules now pick and value differently.
        var differ = false
        for _ in 0..<30 { if abs(double.update() - plain.update()) > 1e-4 { differ = true } }
        #expect(differ, "the non-double path never differed: it may not be taken")
    }

    /// Dueling heads: the gradient of the minibatch loss matches central finite differences for
    /// every kind of parameter (value head, state and item towers, the sampled and the other
    /// items' biases, through the mean advantage), and mean_a Q(s, a) = V(s).
    @Test func duelingGradientsMatchFiniteDifferencesAndTheMeanAdvantageIsZero() throws {
        var agent = try Self.filledAgent { $0.dueling = true; $0.targetUpdateInterval = 0; $0.doubleDQN = false; $0.learningRate = 1e-2 }
        for _ in 0..<20 { agent.update() }  // move every parameter off its initial value
        agent.ensureCatalogs()
        let batch = agent.sampleBatch()
        _ = agent.lossAndGradients(batch)
        let gradient = agent.online.gradients
        let net = agent.network, value = try #require(net.value)
        let inBatch = Set(batch.actions)
        let otherItem = try #require((0..<net.items).first { !inBatch.contains($0) })
        let checks = [value.offset, value.offset + 3, value.offset + net.width,                      // w and c of V
                      net.stateTower.layers.last!.weight.offset + 5, net.itemTower.layers[0].weight.offset + 7,
                      net.itemTower.layers[0].bias.offset + 2,                                      // ψ's bias: every item, and ē
                      net.itemBias.offset + batch.actions[0], net.itemBias.offset + otherItem]       // b_a, and −1/n through b̄
        for i in checks {
            func loss(_ delta: Float) -> Double {
                var probe = agent
                probe.online.values[i] += delta
                probe.onlineCatalog = nil
                probe.ensureCatalogs()
                return probe.lossAndGradients(batch)
            }
            let eps: Float = 1e-2
            let numeric = (loss(eps) - loss(-eps)) / Double(2 * eps)
            let analytic = Double(gradient[i])
            #expect(abs(numeric - analytic) <= 2e-3 * max(1e-2, abs(numeric)) + 1e-5, "parameter \(i): numeric \(numeric), analytic \(analytic)")
        }
        // mean over the catalog of Q(s, ·) is V(s): the advantages are centred.
        let user = 0
        let q = agent.qValues(user: user, step: 0, history: Array(repeating: -1, count: agent.configuration.historyLength))
        var x = [Float](repeating: 0, count: agent.featurizer.size)
        Array(repeating: Int32(-1), count: agent.configuration.historyLength).withUnsafeBufferPointer { h in
            x.withUnsafeMutableBufferPointer { agent.featurizer.write(user: user, step: 0, history: h, into: $0.baseAddress!) }
        }
        let phi = net.stateTower(x, batch: 1, parameters: agent.online)
        var v = agent.online.values[value.offset + net.width]
        for j in 0..<net.width { v += phi[j] * agent.online.values[value.offset + j] }
        let meanQ = q.reduce(0, +) / Float(q.count)
        #expect(abs(meanQ - v) < 1e-4 * max(1, abs(v)), "mean Q \(meanQ), V \(v)")
        // A nonlinear item tower cannot have them.
        var c = DQNConfiguration()
        c.dueling = true
        c.itemHidden = [32]
        #expect(throws: AgentError.self) { try c.validate() }
    }

    /// A goal-conditioned run stores each transition's achieved masks; within a session they only
    /// grow, and a session starts with nothing achieved.
    @Test func aGoalConditionedRunConditionsOnTheGoalsStillOpen() throws {
        let d = try tinyWorld(users: 40, items: 60)
        var c = tinyConfiguration(method: "dqn-ellm-goal", pretrain: 600, finetune: 300, reward: "ellm")
        c.dqn.goalConditioned = true
        let sim = try UserSimulator(dataset: d, seed: 1)
        let run = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false)
        let result = try run.run()
        #expect(result.finished)
        // Play sessions with the run's goal tracker through a fresh agent, to read its buffer.
        var agent = try DQNAgent(dataset: d, configuration: c.dqn, seed: 1)
        var env = try RecommendationEnvironment(simulator: sim, episodeLength: c.dqn.episodeLength, historyLength: c.dqn.historyLength)
        var reward: any AgentReward = ExtrinsicReward(simulator: sim)
        var goals: ELLMAgentReward? = try run.makeEvaluator().ellm
        var step = 0
        for u in 0..<30 { _ = try agent.runEpisode(environment: &env, user: u, reward: &reward, goals: &goals, epsilon: { _ in 1 }, phaseStep: &step) }
        let r = agent.replay
        var anyAchieved = false
        for i in 0..<r.count {
            let before = UInt32(bitPattern: r.achievedBefore[i]), after = UInt32(bitPattern: r.achievedAfter[i])
            #expect(before & after == before, "a session's achieved set only grows")
            if r.steps[i] == 0 { #expect(before == 0, "a session starts with every goal open") }
            if after != 0 { anyAchieved = true }
        }
        #expect(anyAchieved, "no transition reached a goal: the test world gives too little signal")
    }
}
