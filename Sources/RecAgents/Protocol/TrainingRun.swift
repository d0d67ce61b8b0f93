import Foundation
import RecDistances
import RecKit
import RecNN
import RecNumerics
import RecRewards

/// One phase of the protocol: a reward and a budget of environment steps.
public struct TrainingPhase: Sendable, Codable, Hashable {
    /// "pretrain" (intrinsic reward, no ratings) or "finetune" (extrinsic reward).
    public var name: String
    public var reward: String
    public var steps: Int
    public var epsilon: EpsilonSchedule
    public init(name: String, reward: String, steps: Int, epsilon: EpsilonSchedule) {
        self.name = name; self.reward = reward; self.steps = steps; self.epsilon = epsilon
    }
}

/// Everything needed to reproduce a run (written to the run folder as config.json).
public struct RunConfiguration: Sendable, Codable, Hashable {
    public var method: String
    public var dataset: String
    public var split: String
    public var seed: UInt64
    public var dqn = DQNConfiguration()
    public var phases: [TrainingPhase] = []
    /// Held-out users: this fraction of users (at most `evaluationUsers`), drawn with `evaluationSeed`
    /// so every method and seed is evaluated on the same users.
    public var evaluationFraction = 0.2
    public var evaluationUsers = 200
    public var evaluationSeed: UInt64 = 1
    /// All users (`rec-train --eval-users all`): every playable user trains *and* is evaluated,
    /// RecBole's protocol. Ranking metrics stay leak-free because they score the test part, and
    /// training then runs on ``UserSimulator/hidingHeldOutRatings(test:validation:)``: no scored
    /// rating reaches a reward or a mask. What is lost is the check on users the agent never met.
    /// nil (configurations stored before the option) and false mean the held-out fraction above.
    public var evaluateAllUsers: Bool?
    /// The part the ranking metrics score (`rec-train --eval-part`): `validation` to choose
    /// hyperparameters (no test rating is then read anywhere in the run), `test` to report.
    /// nil (configurations stored before the option) means test.
    public var evaluationPart: FullRankingEvaluation.Part?
    public var mf = MatrixFactorization.Configuration()
    public var syntheticNoise = false
    public var ellm = ELLMRewardConfiguration()
    /// The description distance behind the ELLM reward (`rec-train --metric`), by registry name;
    /// nil means ELLM's own, `sbert-cosine` (configurations stored before the option decode so).
    public var rewardMetric: String?
    /// Checkpoint at the first session end after every this many steps (0 = never).
    public var checkpointEvery = 5000
    /// Steps per learning-curve point.
    public var logEvery = 1000
    public var encoder = ""
    public init(method: String, dataset: String, split: String, seed: UInt64) {
        self.method = method; self.dataset = dataset; self.split = split; self.seed = seed
    }

    /// Throws ``AgentError/impossible(_:)`` naming every setting a run cannot use (the agent's
    /// own through ``DQNConfiguration/validate()``). ``TrainingRun`` calls it before any work.
    public func validate() throws {
        try dqn.validate()
        var problems: [String] = []
        func need(_ ok: Bool, _ text: String) { if !ok { problems.append(text) } }
        need(evaluationUsers >= 1, "evaluation users must be ≥ 1 (is \(evaluationUsers)): the final evaluation needs held-out users")
        need(evaluationFraction.isFinite && evaluationFraction > 0 && evaluationFraction < 1, "evaluation fraction must be in (0, 1) (is \(evaluationFraction))")
        need(checkpointEvery >= 0, "checkpoint interval must be ≥ 0 (0 = never; is \(checkpointEvery))")
        need(logEvery >= 1, "log interval must be ≥ 1 (is \(logEvery))")
        for p in phases { need(p.steps > 0, "phase '\(p.name)' has \(p.steps) steps") }
        guard problems.isEmpty else { throw AgentError.impossible(problems.joined(separator: "; ")) }
    }

    /// The standard protocol for a method: intrinsic pretraining then extrinsic fine-tuning.
    /// `dqn-extrinsic` skips pretraining (it is the from-scratch baseline with the same fine-tune budget).
    public static func protocolPhases(reward: String?, pretrainSteps: Int, finetuneSteps: Int) -> [TrainingPhase] {
        var phases: [TrainingPhase] = []
        if let reward, pretrainSteps > 0 {
            phases.append(TrainingPhase(name: "pretrain", reward: reward, steps: pretrainSteps, epsilon: EpsilonSchedule(start: 1, end: 0.05, fraction: 0.5)))
        }
        if finetuneSteps > 0 {
            phases.append(TrainingPhase(name: "finetune", reward: "extrinsic", steps: finetuneSteps,
                                        epsilon: EpsilonSchedule(start: reward == nil ? 1 : 0.3, end: 0.05, fraction: 0.5)))
        }
        return phases
    }
}

/// A point of the learning curve: means over the sessions of one logging window.
public struct CurvePoint: Sendable, Codable, Hashable {
    public var phase: String
    public var step: Int
    public var episodes: Int
    public var meanReturn: Double
    public var meanRating: Double
    public var epsilon: Double
    public var loss: Double
    public var achieved: Double
}

/// An evaluation taken at a protocol point ("zero-shot", "final").
public struct NamedEvaluation: Sendable, Codable, Hashable {
    public var name: String
    public var step: Int
    public var result: EvaluationResult
}

/// The resumable state outside the tensors (the checkpoint's JSON).
struct RunState: Codable {
    var configuration: RunConfiguration
    var phase = 0
    var phaseStep = 0
    var globalStep = 0
    var episodes = 0
    var environmentRNG: SeededGenerator
    var agentRNG: SeededGenerator
    var updates = 0
    var recentLoss = 0.0
    var adamStep = 0
    var replayCount = 0
    var replayPosition = 0
    var curve: [CurvePoint] = []
    var evaluations: [NamedEvaluation] = []
    var lastCheckpointStep = 0
    // Open learning-curve window.
    var windowEpisodes = 0
    var windowReturn = 0.0
    var windowRating = 0.0
    var windowAchieved = 0.0
    var phaseStarted = false
    var finished = false
}

/// What a finished (or stopped) run returns.
public struct RunResult: Sendable {
    public var configuration: RunConfiguration
    public var curve: [CurvePoint]
    public var evaluations: [NamedEvaluation]
    public var steps: Int
    public var finished: Bool
    public var seconds: Double
    public var updates: Int
    public func evaluation(_ name: String) -> EvaluationResult? { evaluations.first { $0.name == name }?.result }
}

/// Runs the protocol for one DQN method and seed: phases in order, an evaluation before the
/// first extrinsic phase ("zero-shot") and at the end ("final"), checkpoints at session
/// boundaries, and `resume` that continues from the last checkpoint with no step lost or repeated.
public final class TrainingRun {
    public let configuration: RunConfiguration
    public let simulator: UserSimulator
    /// What training sessions and rewards see: `simulator` without the ratings of the scored part
    /// when the evaluated users also train (`evaluateAllUsers`), and without test ratings when the
    /// run is scored on validation; `simulator` itself otherwise. Evaluation uses `simulator`.
    public let trainingSimulator: UserSimulator
    public let checkpointDirectory: URL?
    public let showProgress: Bool
    public let trainUsers: [Int]
    public let evaluationUsers: [Int]
    /// The metric of the ELLM reward, resolved from `configuration.rewardMetric`.
    public let rewardMetric: any DescriptionDistance
    /// The agent's item features (`configuration.dqn.itemRepresentation`).
    public let itemFeatures: Matrix

    /// - Parameters:
    ///   - metrics: where `configuration.rewardMetric` is looked up (the standard registry, or one
    ///     a downstream package extended with its own metrics).
    ///   - itemFeatures: the agent's item features, when the caller already built them (a
    ///     comparison shares one BPR fit across methods and seeds); nil builds them here. BPR
    ///     factors are seeded by the simulator's seed, not the run's: like the text embeddings they
    ///     are an input every method and run seed of a comparison sees the same.
    public init(configuration: RunConfiguration, simulator: UserSimulator, checkpointDirectory: URL?, showProgress: Bool = true,
                metrics: MetricRegistry = .standard, itemFeatures: Matrix? = nil) throws {
        try configuration.validate()
        rewardMetric = try metrics.metric(named: configuration.rewardMetric ?? SBERTCosine().name)
        self.itemFeatures = try itemFeatures ?? ItemFeatures.matrix(configuration.dqn.itemRepresentation ?? .text,
                                                                   dataset: simulator.dataset, seed: simulator.seed)
        self.configuration = configuration
        self.simulator = simulator
        let allUsers = configuration.evaluateAllUsers == true, onValidation = configuration.evaluationPart == .validation
        trainingSimulator = allUsers || onValidation
            ? simulator.hidingHeldOutRatings(test: true, validation: allUsers && onValidation) : simulator
        self.checkpointDirectory = checkpointDirectory
        self.showProgress = showProgress
        let env = try RecommendationEnvironment(simulator: simulator, episodeLength: configuration.dqn.episodeLength,
                                                historyLength: configuration.dqn.historyLength, observedOnly: configuration.dqn.observedOnly)
        (trainUsers, evaluationUsers) = try TrainingRun.partitionUsers(configuration, environment: env)
        for p in configuration.phases {
            guard p.steps > 0 else { throw AgentError.impossible("phase '\(p.name)' has \(p.steps) steps") }
            _ = try RewardSpec(parsing: p.reward)
        }
    }

    /// Training and evaluation users: a seeded draw independent of the run seed.
    public static func partitionUsers(_ c: RunConfiguration, environment env: RecommendationEnvironment) throws -> (train: [Int], evaluation: [Int]) {
        let n = env.simulator.dataset.users.count
        var order = Array(0..<n)
        var g = SeededGenerator(seed: c.evaluationSeed).fork("evaluation-users")
        order.shuffle(using: &g)
        let evaluation: [Int], train: [Int]
        if c.evaluateAllUsers == true {
            evaluation = env.playableUsers(Array(0..<n))
            train = evaluation
        } else {
            let evalCount = min(c.evaluationUsers, max(1, Int((c.evaluationFraction * Double(n)).rounded())))
            evaluation = env.playableUsers(Array(order.prefix(evalCount))).sorted()
            train = env.playableUsers(Array(order.dropFirst(evalCount))).sorted()
        }
        guard !train.isEmpty, !evaluation.isEmpty else {
            throw AgentError.emptyActionSet("no user has \(c.dqn.episodeLength) recommendable items\(c.dqn.observedOnly ? " with a known rating (observed-only mode; use a split with more held-out ratings or a smaller T)" : "")")
        }
        return (train, evaluation)
    }

    public func makeEvaluator() throws -> Evaluator {
        let ellm: ELLMAgentReward? = simulator.dataset.rationaleEmbeddings == nil ? nil
            : try ELLMAgentReward.make(dataset: simulator.dataset, configuration: configuration.ellm, seed: configuration.seed,
                                       metric: rewardMetric)
        return Evaluator(simulator: simulator, users: evaluationUsers, episodeLength: configuration.dqn.episodeLength,
                         historyLength: configuration.dqn.historyLength, observedOnly: configuration.dqn.observedOnly, ellm: ellm,
                         part: configuration.evaluationPart ?? .test)
    }

    func makeReward(_ phase: TrainingPhase) throws -> any AgentReward {
        try RewardSpec(parsing: phase.reward).make(simulator: trainingSimulator, seed: configuration.seed, ellm: configuration.ellm,
                                                   metric: rewardMetric)
    }

    /// Runs to the end, or stops at the first checkpoint at or after `stopAfterStep` (tests use
    /// this to simulate a kill). With `resume`, starts from the latest checkpoint if there is one.
    public func run(resume: Bool = false, stopAfterStep: Int? = nil) throws -> RunResult {
        let c = configuration
        let root = SeededGenerator(seed: c.seed)
        var agent = try DQNAgent(dataset: trainingSimulator.dataset, configuration: c.dqn, seed: c.seed, itemFeatures: itemFeatures)
        // The supervised head learns from the training users' logged sequences only.
        agent.supervisedUsers = trainUsers.filter { simulator.dataset.users[$0].history.count >= 2 }
        var state = RunState(configuration: c, environmentRNG: root.fork("environment"), agentRNG: agent.rng)
        var reward: (any AgentReward)?
        if resume, let dir = checkpointDirectory, let loaded = try Checkpoints.loadLatest(directory: dir, configuration: c, agent: &agent) {
            state = loaded.state
            if state.phase < c.phases.count {
                reward = try makeReward(c.phases[state.phase])
                try reward!.restore(from: loaded.rewardTensors, file: loaded.file)
            }
        }
        var env = try RecommendationEnvironment(simulator: trainingSimulator, episodeLength: c.dqn.episodeLength,
                                                historyLength: c.dqn.historyLength, observedOnly: c.dqn.observedOnly)
        let evaluator = try makeEvaluator()
        // The goal-conditioned agent's view of which rationales a session has achieved, in every phase.
        var goals: ELLMAgentReward? = c.dqn.goalConditioned ? evaluator.ellm : nil
        let totalSteps = c.phases.reduce(0) { $0 + $1.steps }
        let progress = ProgressReporter(label: "train \(c.method) seed \(c.seed)", unit: "steps", total: totalSteps, enabled: showProgress ? nil : false)
        progress.advance(by: state.globalStep)
        let firstExtrinsic = c.phases.firstIndex { (try? RewardSpec(parsing: $0.reward))?.usesRatings == true } ?? c.phases.count

        func evaluate(_ name: String) throws {
            guard !state.evaluations.contains(where: { $0.name == name }) else { return }
            var policy = DQNPolicy(agent: agent)
            state.evaluations.append(NamedEvaluation(name: name, step: state.globalStep, result: try evaluator.evaluate(&policy)))
        }

        while state.phase < c.phases.count {
            let phase = c.phases[state.phase]
            if !state.phaseStarted {
                if state.phase == firstExtrinsic { try evaluate("zero-shot") }
                // A new reward invalidates stored returns: each phase starts with an empty buffer.
                agent.replay.clear()
                agent.pending.removeAll()
                reward = try makeReward(phase)
                state.phaseStarted = true
                state.phaseStep = 0
            }
            while state.phaseStep < phase.steps {
                let user = trainUsers[state.environmentRNG.nextIndex(trainUsers.count)]
                var phaseStep = state.phaseStep
                let summary = try agent.runEpisode(environment: &env, user: user, reward: &reward!, goals: &goals,
                                                   epsilon: { phase.epsilon.value(step: $0, of: phase.steps) }, phaseStep: &phaseStep)
                state.phaseStep = phaseStep
                state.globalStep += c.dqn.episodeLength
                state.episodes += 1
                state.windowEpisodes += 1
                state.windowReturn += summary.episodeReturn
                state.windowRating += summary.meanRating
                state.windowAchieved += Double(summary.achieved)
                let eps = phase.epsilon.value(step: state.phaseStep, of: phase.steps)
                if state.globalStep / max(c.logEvery, 1) != (state.globalStep - c.dqn.episodeLength) / max(c.logEvery, 1) || state.phaseStep >= phase.steps {
                    let w = Double(max(state.windowEpisodes, 1))
                    state.curve.append(CurvePoint(phase: phase.name, step: state.globalStep, episodes: state.episodes,
                                                  meanReturn: state.windowReturn / w, meanRating: state.windowRating / w,
                                                  epsilon: eps, loss: agent.recentLoss, achieved: state.windowAchieved / w))
                    state.windowEpisodes = 0; state.windowReturn = 0; state.windowRating = 0; state.windowAchieved = 0
                }
                progress.advance(by: c.dqn.episodeLength)
                progress.setDetail(String(format: "%@  return %.3f  rating %.2f  eps %.2f  loss %.4f", phase.name,
                                          summary.episodeReturn, summary.meanRating, eps, agent.recentLoss))
                if state.phaseStep >= phase.steps {
                    state.phase += 1
                    state.phaseStarted = false
                }
                if let dir = checkpointDirectory, c.checkpointEvery > 0, state.globalStep - state.lastCheckpointStep >= c.checkpointEvery {
                    state.lastCheckpointStep = state.globalStep
                    try Checkpoints.save(directory: dir, state: state, agent: agent, reward: state.phaseStarted ? reward : nil)
                    if let stop = stopAfterStep, state.globalStep >= stop {
                        progress.finish()
                        return RunResult(configuration: c, curve: state.curve, evaluations: state.evaluations, steps: state.globalStep,
                                         finished: false, seconds: progress.elapsed, updates: agent.updates)
                    }
                }
                if !state.phaseStarted { break }
            }
        }
        if firstExtrinsic >= c.phases.count { try evaluate("zero-shot") }
        try evaluate("final")
        state.finished = true
        progress.finish()
        return RunResult(configuration: c, curve: state.curve, evaluations: state.evaluations, steps: state.globalStep,
                         finished: true, seconds: progress.elapsed, updates: agent.updates)
    }
}

/// Checkpoint files: `step-NNNNNNNN.safetensors` (networks, Adam moments, replay buffer, reward
/// state) and `step-NNNNNNNN.json` (counters, generator states, curve, evaluations), with
/// `latest.json` naming the newest complete pair; written tensors-then-state-then-pointer so a
/// kill at any moment leaves the previous checkpoint usable. The two newest pairs are kept.
enum Checkpoints {
    struct Loaded { var state: RunState; var rewardTensors: [String: StoredTensor]; var file: String }

    static func save(directory: URL, state s: RunState, agent: DQNAgent, reward: (any AgentReward)?) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var state = s
        state.agentRNG = agent.rng
        state.updates = agent.updates
        state.recentLoss = agent.recentLoss
        state.adamStep = agent.optimizer.step
        state.replayCount = agent.replay.count
        state.replayPosition = agent.replay.position
        var t = agent.online.storedTensors(prefix: "online.")
        t.merge(agent.target.storedTensors(prefix: "target.")) { a, _ in a }
        t["adam.m"] = StoredTensor(shape: [agent.optimizer.firstMoment.count], floats: agent.optimizer.firstMoment)
        t["adam.v"] = StoredTensor(shape: [agent.optimizer.secondMoment.count], floats: agent.optimizer.secondMoment)
        let r = agent.replay, n = r.count
        t["replay.users"] = StoredTensor(shape: [n], ints: Array(r.users.prefix(n)))
        t["replay.before"] = StoredTensor(shape: [n, r.historyLength], ints: Array(r.before.prefix(n * r.historyLength)))
        t["replay.after"] = StoredTensor(shape: [n, r.historyLength], ints: Array(r.after.prefix(n * r.historyLength)))
        t["replay.actions"] = StoredTensor(shape: [n], ints: Array(r.actions.prefix(n)))
        t["replay.steps"] = StoredTensor(shape: [n], ints: Array(r.steps.prefix(n)))
        t["replay.rewards"] = StoredTensor(shape: [n], floats: Array(r.rewards.prefix(n)))
        t["replay.discounts"] = StoredTensor(shape: [n], floats: Array(r.discounts.prefix(n)))
        t["replay.recommended"] = StoredTensor(shape: [n, r.episodeLength], ints: Array(r.recommended.prefix(n * r.episodeLength)))
        t["replay.achieved_before"] = StoredTensor(shape: [n], ints: Array(r.achievedBefore.prefix(n)))
        t["replay.achieved_after"] = StoredTensor(shape: [n], ints: Array(r.achievedAfter.prefix(n)))
        for (k, v) in reward?.checkpointTensors() ?? [:] { t["reward." + k] = v }
        let base = String(format: "step-%09d", state.globalStep)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        try SafetensorsFile.write(t, metadata: ["format": "rec-train checkpoint v1", "step": String(state.globalStep),
                                                "method": state.configuration.method, "seed": String(state.configuration.seed)],
                                  to: directory.appendingPathComponent(base + ".safetensors"))
        try enc.encode(state).write(to: directory.appendingPathComponent(base + ".json"), options: .atomic)
        try enc.encode(["latest": base]).write(to: directory.appendingPathComponent("latest.json"), options: .atomic)
        // Keep the two newest pairs.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let bases = Set(names.filter { $0.hasPrefix("step-") }.map { ($0 as NSString).deletingPathExtension }).sorted()
        for old in bases.dropLast(2) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(old + ".safetensors"))
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(old + ".json"))
        }
    }

    static func loadLatest(directory: URL, configuration: RunConfiguration, agent: inout DQNAgent) throws -> Loaded? {
        let pointer = directory.appendingPathComponent("latest.json")
        guard FileManager.default.fileExists(atPath: pointer.path) else { return nil }
        guard let data = try? Data(contentsOf: pointer), let names = try? JSONDecoder().decode([String: String].self, from: data),
              let base = names["latest"] else {
            throw CheckpointError.corrupt(file: pointer.path, reason: "not a JSON object with a 'latest' entry")
        }
        let jsonURL = directory.appendingPathComponent(base + ".json")
        let tensorURL = directory.appendingPathComponent(base + ".safetensors")
        let state: RunState
        do { state = try JSONDecoder().decode(RunState.self, from: Data(contentsOf: jsonURL)) } catch {
            throw CheckpointError.corrupt(file: jsonURL.path, reason: "\(error)")
        }
        guard state.configuration == configuration else {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let a = (try? JSONSerialization.jsonObject(with: enc.encode(state.configuration))) as? [String: Any] ?? [:]
            let b = (try? JSONSerialization.jsonObject(with: enc.encode(configuration))) as? [String: Any] ?? [:]
            // Compare each setting by its canonical JSON: bridging a decoded `false` (an NSNumber)
            // into NSDictionary equality made Bool settings such as syntheticNoise always differ.
            func canonical(_ v: Any) -> Data? { try? JSONSerialization.data(withJSONObject: ["v": v], options: [.sortedKeys]) }
            let differing = Set(a.keys).union(b.keys).filter { k in
                guard let x = a[k], let y = b[k] else { return true }
                return canonical(x) != canonical(y)
            }.sorted()
            throw CheckpointError.mismatch(file: jsonURL.path, reason: "it was written with a different configuration (differs in: \(differing.joined(separator: ", "))); use a new --out folder or the same options")
        }
        let (t, _) = try SafetensorsFile.read(tensorURL)
        let file = tensorURL.path
        try agent.online.load(from: t.filter { $0.key.hasPrefix("online.") }, prefix: "online.", file: file)
        try agent.target.load(from: t.filter { $0.key.hasPrefix("target.") }, prefix: "target.", file: file)
        func floats(_ name: String, _ count: Int) throws -> [Float] {
            guard let x = t[name] else { throw CheckpointError.missingTensor(file: file, tensor: name) }
            guard let v = x.floats, v.count == count else { throw CheckpointError.shapeMismatch(file: file, tensor: name, expected: [count], found: x.shape) }
            return v
        }
        func ints(_ name: String, _ count: Int) throws -> [Int32] {
            guard let x = t[name] else { throw CheckpointError.missingTensor(file: file, tensor: name) }
            guard let v = x.ints, v.count == count else { throw CheckpointError.shapeMismatch(file: file, tensor: name, expected: [count], found: x.shape) }
            return v
        }
        agent.optimizer.restore(step: state.adamStep, firstMoment: try floats("adam.m", agent.online.count),
                                secondMoment: try floats("adam.v", agent.online.count))
        let n = state.replayCount
        guard n <= agent.replay.capacity else { throw CheckpointError.mismatch(file: file, reason: "replay buffer holds \(n) transitions, capacity is \(agent.replay.capacity)") }
        let hl = agent.replay.historyLength, el = agent.replay.episodeLength
        agent.replay.users.replaceSubrange(0..<n, with: try ints("replay.users", n))
        agent.replay.before.replaceSubrange(0..<(n * hl), with: try ints("replay.before", n * hl))
        agent.replay.after.replaceSubrange(0..<(n * hl), with: try ints("replay.after", n * hl))
        agent.replay.actions.replaceSubrange(0..<n, with: try ints("replay.actions", n))
        agent.replay.steps.replaceSubrange(0..<n, with: try ints("replay.steps", n))
        agent.replay.rewards.replaceSubrange(0..<n, with: try floats("replay.rewards", n))
        agent.replay.discounts.replaceSubrange(0..<n, with: try floats("replay.discounts", n))
        agent.replay.recommended.replaceSubrange(0..<(n * el), with: try ints("replay.recommended", n * el))
        // Checkpoints written before goal masks existed hold none: their goals were never masked.
        let noMasks = [Int32](repeating: 0, count: n)
        agent.replay.achievedBefore.replaceSubrange(0..<n, with: t["replay.achieved_before"] == nil ? noMasks : try ints("replay.achieved_before", n))
        agent.replay.achievedAfter.replaceSubrange(0..<n, with: t["replay.achieved_after"] == nil ? noMasks : try ints("replay.achieved_after", n))
        agent.replay.count = n
        agent.replay.position = state.replayPosition
        agent.rng = state.agentRNG
        agent.updates = state.updates
        agent.recentLoss = state.recentLoss
        agent.onlineCatalog = nil
        agent.supervisedCatalog = nil
        agent.targetCatalog = nil
        var rewardTensors: [String: StoredTensor] = [:]
        for (k, v) in t where k.hasPrefix("reward.") { rewardTensors[String(k.dropFirst(7))] = v }
        return Loaded(state: state, rewardTensors: rewardTensors, file: file)
    }
}
