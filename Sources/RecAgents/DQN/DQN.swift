// A DQN recommender, written to be read top to bottom (in the spirit of CleanRL's dqn.py):
//
//   1. DQNConfiguration — every hyperparameter, with its default and ELLM's value where it differs
//   2. StateFeaturizer  — the state vector: [mean of last N item embeddings, last item, (goal)]
//   3. QNetwork         — two towers, Q(s, a) = φ(s)·ψ(e_a) + b_a, so the catalog is one GEMM
//   4. ReplayBuffer     — compact transitions (item indices, not vectors), n-step returns
//   5. DQNAgent         — ε-greedy acting with masking, the double-DQN update, target network
//   6. DQNAgent.runEpisode — one session in the simulator: act, reward, store, learn
//
// Checkpointing (Protocol/TrainingRun.swift) saves everything here that changes: both
// parameter sets, Adam's moments, the replay buffer and the generator states.

import RecKit
import RecNN
import RecNumerics

// MARK: 1. Hyperparameters

/// Every hyperparameter of the agent. Defaults follow ELLM's DQN where they transfer and are
/// scaled down for short runs on a 2-core CPU where they do not (see Docs/dqn.md).
public struct DQNConfiguration: Sendable, Codable, Hashable {
    // Session shape.
    /// T: recommendations per episode (session).
    public var episodeLength = 10
    /// N: consumed items that make up the state.
    public var historyLength = 10
    /// Append the mean of the user's rationale embeddings to the state (ELLM's goal conditioning).
    public var goalConditioned = false
    /// Restrict actions to items with a known (held-out) rating.
    public var observedOnly = false

    // Network.
    /// Hidden widths of the state tower φ (ELLM: 3 layers of 512 on text observations).
    public var stateHidden = [256, 256]
    /// Hidden widths of the item tower ψ; empty means ψ is linear (a learned projection of e_a).
    public var itemHidden: [Int] = []
    /// Width of the towers' shared output space.
    public var towerWidth = 64
    public var initializer: Initializer = .torchLinear

    // Optimisation.
    /// Adam learning rate (ELLM: 6.25e-5 over millions of frames; runs of ~10⁴ steps need larger steps).
    public var learningRate: Float = 1e-3
    public var adamEpsilon: Float = 1e-8
    public var weightDecay: Float = 0
    public var batchSize = 64
    /// Discount (ELLM: 0.99 over long Crafter episodes; a session is T = 10 steps, so 0.9 keeps
    /// the horizon about one session and the bootstrapped targets low-variance).
    public var gamma: Float = 0.9
    /// n of n-step returns (ELLM: 3); 1 gives one-step TD targets.
    public var nStep = 3
    /// Environment steps per gradient update (ELLM: 4; 2 learns about twice as fast per step here,
    /// and an environment step is much cheaper than an update).
    public var trainFrequency = 2
    /// Clip the gradient's global L2 norm (0 = off).
    public var gradientClip = 10.0
    public var huberDelta: Float = 1
    /// Clip each step's reward to [−c, c] before it enters the buffer (ELLM: 1; 0 = off).
    public var rewardClip = 1.0
    /// Double-DQN targets: the online network picks a′, the target network values it.
    public var doubleDQN = true

    // Target network.
    /// Hard copy every this many environment steps (ELLM: 8000; our phases are ~10⁴ steps).
    public var targetUpdateInterval = 500
    /// When > 0, Polyak averaging θ′ ← τθ + (1−τ)θ′ after every update instead of hard copies.
    public var polyakTau: Float = 0

    // Replay and exploration.
    public var replayCapacity = 50_000
    /// Environment steps of a phase before learning starts.
    public var learningStarts = 500
    public init() {}
}

/// A linear ε schedule: from `start` to `end` over `fraction` of the phase, then constant.
public struct EpsilonSchedule: Sendable, Codable, Hashable {
    public var start: Double
    public var end: Double
    public var fraction: Double
    public init(start: Double, end: Double, fraction: Double) { self.start = start; self.end = end; self.fraction = fraction }
    public func value(step: Int, of total: Int) -> Double {
        let span = max(1, fraction * Double(total))
        return start + (end - start) * min(1, Double(step) / span)
    }
}

// MARK: 2. State features

/// Turns (user, step, last N items) into the state vector: [mean of the embeddings of the last N
/// consumed items, embedding of the last one, fraction of the session left] and, goal-conditioned,
/// [mean rationale embedding]. The time feature matters: without it a state in the middle of a
/// session and one at its end look alike, and bootstrapped values smear across the horizon.
public struct StateFeaturizer: Sendable {
    public let embeddings: Matrix
    public let goals: [[Float]]?
    public let historyLength: Int
    public let episodeLength: Int
    public var size: Int { embeddings.cols * (goals == nil ? 2 : 3) + 1 }

    public init(dataset: AgentDataset, historyLength: Int, episodeLength: Int, goalConditioned: Bool) {
        embeddings = dataset.embeddings
        self.historyLength = historyLength
        self.episodeLength = episodeLength
        goals = goalConditioned ? dataset.users.indices.map { dataset.goalVector(user: $0) } : nil
    }

    /// Writes the features of one state into `out[0..<size]`.
    public func write(user: Int, step: Int, history: UnsafeBufferPointer<Int32>, into out: UnsafeMutablePointer<Float>) {
        let d = embeddings.cols
        out.update(repeating: 0, count: size)
        embeddings.storage.withUnsafeBufferPointer { e in
            var n: Float = 0
            var last = -1
            for h in history where h >= 0 {
                let row = e.baseAddress! + Int(h) * d
                for j in 0..<d { out[j] += row[j] }
                n += 1
                last = Int(h)
            }
            if n > 0 { for j in 0..<d { out[j] /= n } }
            if last >= 0 { (out + d).update(from: e.baseAddress! + last * d, count: d) }
        }
        out[2 * d] = Float(episodeLength - step) / Float(episodeLength)
        if let goals { goals[user].withUnsafeBufferPointer { g in (out + 2 * d + 1).update(from: g.baseAddress!, count: d) } }
    }

    /// Features of a batch of states (rows).
    public func batch(users: [Int32], steps: [Int32], histories: [Int32]) -> [Float] {
        var out = [Float](repeating: 0, count: users.count * size)
        histories.withUnsafeBufferPointer { h in
            out.withUnsafeMutableBufferPointer { o in
                for (b, u) in users.enumerated() {
                    write(user: Int(u), step: Int(steps[b]), history: UnsafeBufferPointer(rebasing: h[(b * historyLength)..<((b + 1) * historyLength)]),
                          into: o.baseAddress! + b * size)
                }
            }
        }
        return out
    }
}

// MARK: 3. Two-tower Q-network

/// Q(s, a) = φ(s)·ψ(e_a) + b_a. The layout (towers and the per-item bias) is shared by the
/// online and the target network; each has its own `ParameterSet`.
public struct QNetwork: Sendable {
    public let stateTower: MLP
    public let itemTower: MLP
    public let itemBias: TensorSpec
    public let items: Int

    /// Builds the layout and a freshly initialised parameter set.
    public static func make(stateSize: Int, itemSize: Int, items: Int, configuration c: DQNConfiguration,
                            rng: inout SeededGenerator) -> (QNetwork, ParameterSet) {
        var p = ParameterSet()
        let phi = MLP(name: "state", sizes: [stateSize] + c.stateHidden + [c.towerWidth], parameters: &p, initializer: c.initializer, rng: &rng)
        let psi = MLP(name: "item", sizes: [itemSize] + c.itemHidden + [c.towerWidth], parameters: &p, initializer: c.initializer, rng: &rng)
        let bias = p.allocate("item_bias", shape: [items])
        return (QNetwork(stateTower: phi, itemTower: psi, itemBias: bias, items: items), p)
    }

    public var width: Int { stateTower.outputSize }

    /// ψ(e_a) for every catalog item: `items × width`, row-major.
    public func catalog(_ embeddings: Matrix, parameters: ParameterSet) -> [Float] {
        itemTower(embeddings.storage, batch: embeddings.rows, parameters: parameters)
    }

    /// Q-values of every item for a batch of state-tower outputs: `batch × items`.
    public func scores(stateOutput phi: [Float], batch: Int, catalog psi: [Float], parameters: ParameterSet) -> [Float] {
        let k = width, n = items
        var q = [Float](repeating: 0, count: batch * n)
        parameters.values.withUnsafeBufferPointer { p in
            q.withUnsafeMutableBufferPointer { qp in
                for b in 0..<batch { (qp.baseAddress! + b * n).update(from: p.baseAddress! + itemBias.offset, count: n) }
                phi.withUnsafeBufferPointer { a in
                    psi.withUnsafeBufferPointer { c in
                        Kernels.sgemm(transA: false, transB: true, m: batch, n: n, k: k, alpha: 1, a: a.baseAddress!, lda: k,
                                      b: c.baseAddress!, ldb: k, beta: 1, c: qp.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return q
    }
}

// MARK: 4. Replay buffer

/// Transitions stored as indices: the user, the last N items before and after (n steps later),
/// the action, the n-step return, the bootstrap discount γⁿ (0 at the end of a session) and the
/// items recommended so far at the bootstrap state (its mask). A state vector is rebuilt from
/// indices when sampled, so a 50k buffer takes ~8 MB instead of ~300 MB of embeddings.
public struct ReplayBuffer: Sendable {
    public let capacity: Int
    public let historyLength: Int
    public let episodeLength: Int
    public internal(set) var users: [Int32]
    public internal(set) var before: [Int32]
    public internal(set) var after: [Int32]
    /// Session step of the state before (the bootstrap state's step is the count of `recommended`).
    public internal(set) var steps: [Int32]
    public internal(set) var actions: [Int32]
    public internal(set) var rewards: [Float]
    public internal(set) var discounts: [Float]
    public internal(set) var recommended: [Int32]
    public internal(set) var count = 0
    public internal(set) var position = 0

    public init(capacity: Int, historyLength: Int, episodeLength: Int) {
        self.capacity = capacity
        self.historyLength = historyLength
        self.episodeLength = episodeLength
        users = [Int32](repeating: 0, count: capacity)
        before = [Int32](repeating: -1, count: capacity * historyLength)
        after = before
        actions = users
        steps = users
        rewards = [Float](repeating: 0, count: capacity)
        discounts = rewards
        recommended = [Int32](repeating: -1, count: capacity * episodeLength)
    }

    public mutating func add(user: Int, step: Int, before b: [Int32], after a: [Int32], action: Int, reward: Float, discount: Float, recommended r: [Int32]) {
        let i = position
        users[i] = Int32(user)
        before.replaceSubrange((i * historyLength)..<((i + 1) * historyLength), with: b)
        after.replaceSubrange((i * historyLength)..<((i + 1) * historyLength), with: a)
        actions[i] = Int32(action)
        steps[i] = Int32(step)
        rewards[i] = reward
        discounts[i] = discount
        let padded = r + [Int32](repeating: -1, count: episodeLength - r.count)
        recommended.replaceSubrange((i * episodeLength)..<((i + 1) * episodeLength), with: padded)
        position = (position + 1) % capacity
        count = min(count + 1, capacity)
    }

    public mutating func clear() { count = 0; position = 0 }
}

/// One environment step waiting for its n-step return.
struct PendingStep: Sendable {
    var step: Int
    var before: [Int32]
    var action: Int
    var reward: Float
    var after: [Int32]
    var recommendedAfter: [Int32]
    var terminal: Bool
}

// MARK: 5. Agent

/// The DQN agent: online and target parameters, Adam, the replay buffer and its own generator
/// (exploration and minibatch sampling).
public struct DQNAgent: Sendable {
    public let configuration: DQNConfiguration
    public let network: QNetwork
    public let featurizer: StateFeaturizer
    public internal(set) var online: ParameterSet
    public internal(set) var target: ParameterSet
    public internal(set) var optimizer: Adam
    public internal(set) var replay: ReplayBuffer
    public internal(set) var rng: SeededGenerator
    public internal(set) var updates = 0
    /// Mean loss of recent updates (for the progress line).
    public internal(set) var recentLoss = 0.0
    /// Items never to recommend per user (the training history) and, observed-only, the only allowed ones.
    let consumed: [[Int32]]
    let observed: [[Int32]]?
    /// ψ over the catalog for the current online / target parameters; recomputed after they change.
    var onlineCatalog: [Float]?
    var targetCatalog: [Float]?
    var pending: [PendingStep] = []

    public init(dataset: AgentDataset, configuration c: DQNConfiguration, seed: UInt64) throws {
        guard c.batchSize >= 1, c.nStep >= 1, c.trainFrequency >= 1, c.replayCapacity >= c.batchSize,
              c.towerWidth >= 1, c.gamma >= 0, c.gamma <= 1 else {
            throw AgentError.impossible("batch size, n-step, train frequency and tower width must be ≥ 1, replay capacity ≥ batch size, γ in [0, 1]")
        }
        guard c.episodeLength <= dataset.itemCount else {
            throw AgentError.impossible("episode length T = \(c.episodeLength) is larger than the catalog (\(dataset.itemCount) items)")
        }
        configuration = c
        let root = SeededGenerator(seed: seed)
        var initRNG = root.fork("dqn-init")
        featurizer = StateFeaturizer(dataset: dataset, historyLength: c.historyLength, episodeLength: c.episodeLength, goalConditioned: c.goalConditioned)
        let (net, params) = QNetwork.make(stateSize: featurizer.size, itemSize: dataset.dimension, items: dataset.itemCount,
                                          configuration: c, rng: &initRNG)
        network = net
        online = params
        target = params
        optimizer = Adam(parameterCount: params.count, learningRate: c.learningRate, epsilon: c.adamEpsilon, weightDecay: c.weightDecay)
        replay = ReplayBuffer(capacity: c.replayCapacity, historyLength: c.historyLength, episodeLength: c.episodeLength)
        rng = root.fork("dqn-agent")
        consumed = dataset.users.map { $0.history.map(Int32.init) }
        observed = c.observedOnly ? dataset.users.map { $0.heldOut.keys.sorted().map(Int32.init) } : nil
    }

    mutating func ensureCatalogs() {
        if onlineCatalog == nil { onlineCatalog = network.catalog(featurizer.embeddings, parameters: online) }
        if targetCatalog == nil { targetCatalog = network.catalog(featurizer.embeddings, parameters: target) }
    }

    /// Q-values of every catalog item in one state (greedy scoring; no exploration).
    public mutating func qValues(user: Int, step: Int, history: [Int32]) -> [Float] {
        ensureCatalogs()
        var x = [Float](repeating: 0, count: featurizer.size)
        history.withUnsafeBufferPointer { h in x.withUnsafeMutableBufferPointer { featurizer.write(user: user, step: step, history: h, into: $0.baseAddress!) } }
        let phi = network.stateTower(x, batch: 1, parameters: online)
        return network.scores(stateOutput: phi, batch: 1, catalog: onlineCatalog!, parameters: online)
    }

    /// ε-greedy over the allowed items; greedy ties go to the lowest index.
    public mutating func act(user: Int, step: Int, history: [Int32], allowed: [Bool], allowedCount: Int, epsilon: Double) -> Int {
        precondition(allowedCount > 0, "no allowed action")
        if rng.nextUnit() < epsilon {
            var k = rng.nextIndex(allowedCount)
            for i in allowed.indices where allowed[i] {
                if k == 0 { return i }
                k -= 1
            }
        }
        let q = qValues(user: user, step: step, history: history)
        var best = -1
        var bestQ = -Float.infinity
        for i in q.indices where allowed[i] && (best < 0 || q[i] > bestQ) { best = i; bestQ = q[i] }
        return best
    }

    /// Records a step; transitions leave the n-step queue once their return is complete.
    public mutating func observe(user: Int, step: Int, before: [Int32], action: Int, reward: Double, after: [Int32],
                                 recommendedAfter: [Int], terminal: Bool) {
        var r = Float(reward)
        if configuration.rewardClip > 0 { r = max(-Float(configuration.rewardClip), min(Float(configuration.rewardClip), r)) }
        pending.append(PendingStep(step: step, before: before, action: action, reward: r, after: after,
                                   recommendedAfter: recommendedAfter.map(Int32.init), terminal: terminal))
        if pending.count >= configuration.nStep { flushOldest(user: user) }
        if terminal { while !pending.isEmpty { flushOldest(user: user) } }
    }

    private mutating func flushOldest(user: Int) {
        let m = min(configuration.nStep, pending.count)
        var ret: Float = 0, g: Float = 1
        for k in 0..<m { ret += g * pending[k].reward; g *= configuration.gamma }
        let last = pending[m - 1]
        replay.add(user: user, step: pending[0].step, before: pending[0].before, after: last.after, action: pending[0].action, reward: ret,
                   discount: last.terminal ? 0 : g, recommended: last.recommendedAfter)
        pending.removeFirst()
    }

    /// One gradient update on a uniformly sampled minibatch (double-DQN targets, Huber loss,
    /// gradient clipping, Adam). Returns the loss.
    @discardableResult
    public mutating func update() -> Double {
        let c = configuration, bsz = c.batchSize, hl = c.historyLength, n = network.items, k = network.width
        guard replay.count >= bsz else { return 0 }
        ensureCatalogs()
        // Sample.
        var idx = [Int](repeating: 0, count: bsz)
        for b in 0..<bsz { idx[b] = rng.nextIndex(replay.count) }
        let users = idx.map { replay.users[$0] }
        let actions = idx.map { Int(replay.actions[$0]) }
        let before = idx.flatMap { replay.before[($0 * hl)..<(($0 + 1) * hl)] }
        let after = idx.flatMap { replay.after[($0 * hl)..<(($0 + 1) * hl)] }
        let stepsBefore = idx.map { replay.steps[$0] }
        let stepsAfter = idx.map { i in Int32(replay.recommended[(i * c.episodeLength)..<((i + 1) * c.episodeLength)].filter { $0 >= 0 }.count) }
        let s = featurizer.batch(users: users, steps: stepsBefore, histories: before)
        let s2 = featurizer.batch(users: users, steps: stepsAfter, histories: after)

        // Targets: y = R + γⁿ · Q_target(s′, argmax_a′ Q_online(s′, a′)), a′ over unmasked items.
        let phiTarget = network.stateTower(s2, batch: bsz, parameters: target)
        let qSelect = c.doubleDQN
            ? network.scores(stateOutput: network.stateTower(s2, batch: bsz, parameters: online), batch: bsz, catalog: onlineCatalog!, parameters: online)
            : network.scores(stateOutput: phiTarget, batch: bsz, catalog: targetCatalog!, parameters: target)
        // Q_target(s′, a′) only at the chosen a′: one k-dot per row instead of a batch × catalog GEMM.
        let targetBias = network.itemBias.offset
        func qTarget(_ b: Int, _ a: Int) -> Float {
            var dot: Float = 0
            for j in 0..<k { dot += phiTarget[b * k + j] * targetCatalog![a * k + j] }
            return dot + target.values[targetBias + a]
        }
        var y = [Float](repeating: 0, count: bsz)
        var masked = [Bool](repeating: false, count: n)
        for b in 0..<bsz {
            let i = idx[b]
            let discount = replay.discounts[i]
            y[b] = replay.rewards[i]
            guard discount > 0 else { continue }
            let u = Int(users[b])
            for h in consumed[u] { masked[Int(h)] = true }
            for r in replay.recommended[(i * c.episodeLength)..<((i + 1) * c.episodeLength)] where r >= 0 { masked[Int(r)] = true }
            var best = -1
            var bestQ = -Float.infinity
            if let obs = observed?[u] {
                for a in obs where !masked[Int(a)] && (best < 0 || qSelect[b * n + Int(a)] > bestQ) { best = Int(a); bestQ = qSelect[b * n + Int(a)] }
            } else {
                for a in 0..<n where !masked[a] && (best < 0 || qSelect[b * n + a] > bestQ) { best = a; bestQ = qSelect[b * n + a] }
            }
            if best >= 0 { y[b] += discount * qTarget(b, best) }
            for h in consumed[u] { masked[Int(h)] = false }
            for r in replay.recommended[(i * c.episodeLength)..<((i + 1) * c.episodeLength)] where r >= 0 { masked[Int(r)] = false }
        }

        // Online Q(s, a) through both towers, only for the sampled actions.
        let phiTrace = network.stateTower.forward(s, batch: bsz, parameters: online)
        let e = featurizer.embeddings
        let itemInput = actions.flatMap { e.storage[($0 * e.cols)..<(($0 + 1) * e.cols)] }
        let psiTrace = network.itemTower.forward(itemInput, batch: bsz, parameters: online)
        var q = [Float](repeating: 0, count: bsz)
        for b in 0..<bsz {
            var dot: Float = 0
            for j in 0..<k { dot += phiTrace.output[b * k + j] * psiTrace.output[b * k + j] }
            q[b] = dot + online.values[network.itemBias.offset + actions[b]]
        }
        let (loss, dq) = HuberLoss.evaluate(prediction: q, target: y, delta: c.huberDelta)

        // Backward: ∂Q/∂φ = ψ, ∂Q/∂ψ = φ, ∂Q/∂b_a = 1.
        online.zeroGradients()
        var dPhi = [Float](repeating: 0, count: bsz * k), dPsi = dPhi
        for b in 0..<bsz {
            for j in 0..<k {
                dPhi[b * k + j] = dq[b] * psiTrace.output[b * k + j]
                dPsi[b * k + j] = dq[b] * phiTrace.output[b * k + j]
            }
            online.gradients[network.itemBias.offset + actions[b]] += dq[b]
        }
        network.stateTower.backward(phiTrace, outputGradient: dPhi, parameters: &online)
        network.itemTower.backward(psiTrace, outputGradient: dPsi, parameters: &online)
        if c.gradientClip > 0 { online.clipGradientNorm(c.gradientClip) }
        optimizer.update(&online)
        onlineCatalog = nil
        updates += 1
        if c.polyakTau > 0 {
            target.blend(towards: online, tau: c.polyakTau)
            targetCatalog = nil
        }
        recentLoss = updates == 1 ? loss : 0.98 * recentLoss + 0.02 * loss
        return loss
    }

    /// Hard copy of the online parameters into the target network.
    public mutating func syncTarget() {
        target.values = online.values
        targetCatalog = nil
    }
}

// MARK: 6. One session

/// What one training episode produced.
public struct EpisodeSummary: Sendable, Hashable, Codable {
    public var user: Int
    public var episodeReturn: Double
    public var meanRating: Double
    public var liked: Int
    public var achieved: Int
}

extension DQNAgent {
    /// Plays one session for `user`: ε-greedy actions, rewards from `reward`, transitions into
    /// the buffer, an update every `trainFrequency` steps once `learningStarts` steps of the
    /// phase have passed, hard target copies every `targetUpdateInterval` steps.
    /// `phaseStep` counts this phase's environment steps and is advanced here.
    public mutating func runEpisode(environment env: inout RecommendationEnvironment, user: Int,
                                    reward: inout any AgentReward, epsilon: (Int) -> Double,
                                    phaseStep: inout Int) throws -> EpisodeSummary {
        let c = configuration
        try env.reset(user: user)
        reward.beginEpisode(user: env.simulator.dataset.users[user].id)
        var total = 0.0, ratings = 0.0, liked = 0
        while !env.done {
            let before = env.recentHistory
            let t = env.step
            let a = act(user: user, step: t, history: before, allowed: env.allowed, allowedCount: env.allowedCount, epsilon: epsilon(phaseStep))
            let response = env.recommend(a)
            let r = reward.reward(for: a)
            total += r
            ratings += response.rating
            if response.liked { liked += 1 }
            observe(user: user, step: t, before: before, action: a, reward: r, after: env.recentHistory,
                    recommendedAfter: env.recommended, terminal: env.done)
            phaseStep += 1
            if phaseStep > c.learningStarts && phaseStep % c.trainFrequency == 0 { update() }
            if c.polyakTau <= 0 && c.targetUpdateInterval > 0 && phaseStep % c.targetUpdateInterval == 0 { syncTarget() }
        }
        return EpisodeSummary(user: user, episodeReturn: total, meanRating: ratings / Double(c.episodeLength),
                              liked: liked, achieved: reward.achievedThisEpisode)
    }
}
