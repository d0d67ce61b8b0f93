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
    /// Append the goal, the mean embedding of the user's rationales not yet achieved this session,
    /// to the state (ELLM's goal conditioning: it re-encodes the suggestions still open).
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
    /// Dueling heads (Wang et al. 2016; ELLM's DQN has them): Q(s, a) = V(s) + A(s, a) − mean_a A(s, a),
    /// with A the two-tower score and V a linear head on the state tower. Needs a linear item tower
    /// (`itemHidden` empty), where mean_a ψ(e_a) = ψ(ē) is one row. nil (configurations stored
    /// before the option) and false mean off.
    public var dueling: Bool?
    var isDueling: Bool { dueling == true }
    /// Weight λ of a supervised next-item head beside the Q head (SQN, Xin et al. 2020;
    /// `SupervisedHead.swift`); nil or 0 means no head.
    public var supervisedWeight: Float?
    var hasSupervisedHead: Bool { (supervisedWeight ?? 0) > 0 }
    /// Logged examples per supervised minibatch; nil means `batchSize`. The head's softmax over the
    /// catalog is one GEMM, so a larger batch than the TD batch costs little and sees more of the
    /// training interactions per update.
    public var supervisedBatchSize: Int?
    var supervisedBatch: Int { supervisedBatchSize ?? batchSize }
    /// Which logged examples the supervised head learns from; nil means `next` (SQN's).
    public var supervisedExamples: SupervisedExamples?
    /// What the agent sees of an item (``ItemRepresentation``): text embeddings, BPR-MF factors
    /// fitted on the training ratings, or both. nil (configurations stored before the option) means text.
    public var itemRepresentation: ItemRepresentation?

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

    /// Throws ``AgentError/impossible(_:)`` naming every hyperparameter that cannot train: a
    /// negative or non-finite learning rate trains "normally" into a loss of 1e19 or NaN, and the
    /// results would be written as if nothing had happened. ``DQNAgent/init(dataset:configuration:seed:)``
    /// calls it, so library users get the same protection as the command line.
    public func validate() throws {
        var problems: [String] = []
        func need(_ ok: Bool, _ text: String) { if !ok { problems.append(text) } }
        need(episodeLength >= 1, "episode length must be ≥ 1 (is \(episodeLength))")
        need(historyLength >= 1, "history length must be ≥ 1 (is \(historyLength))")
        need(stateHidden.allSatisfy { $0 >= 1 } && itemHidden.allSatisfy { $0 >= 1 }, "hidden widths must be ≥ 1")
        need(towerWidth >= 1, "tower width must be ≥ 1 (is \(towerWidth))")
        need(learningRate.isFinite && learningRate > 0, "learning rate must be a finite number > 0 (is \(learningRate))")
        need(adamEpsilon.isFinite && adamEpsilon > 0, "Adam ε must be a finite number > 0 (is \(adamEpsilon))")
        need(weightDecay.isFinite && weightDecay >= 0, "weight decay must be ≥ 0 (is \(weightDecay))")
        need(batchSize >= 1, "batch size must be ≥ 1 (is \(batchSize))")
        need(gamma.isFinite && gamma >= 0 && gamma <= 1, "γ must be in [0, 1] (is \(gamma))")
        need(nStep >= 1, "n-step must be ≥ 1 (is \(nStep))")
        need(trainFrequency >= 1, "train frequency must be ≥ 1 (is \(trainFrequency))")
        need(gradientClip.isFinite && gradientClip >= 0, "gradient clip must be ≥ 0 (is \(gradientClip))")
        need(huberDelta.isFinite && huberDelta > 0, "Huber δ must be > 0 (is \(huberDelta))")
        need(rewardClip.isFinite && rewardClip >= 0, "reward clip must be ≥ 0 (is \(rewardClip))")
        need(targetUpdateInterval >= 0, "target update interval must be ≥ 0 (is \(targetUpdateInterval))")
        need(polyakTau.isFinite && polyakTau >= 0 && polyakTau <= 1, "Polyak τ must be in [0, 1] (is \(polyakTau))")
        need(replayCapacity >= batchSize, "replay capacity must be ≥ batch size (is \(replayCapacity))")
        need(learningStarts >= 0, "learning starts must be ≥ 0 (is \(learningStarts))")
        need(supervisedBatch >= 1, "supervised batch size must be ≥ 1 (is \(supervisedBatch))")
        need(supervisedWeight.map { $0.isFinite && $0 >= 0 } ?? true, "supervised weight must be a finite number ≥ 0 (is \(supervisedWeight ?? 0))")
        need(!isDueling || itemHidden.isEmpty, "dueling heads need a linear item tower (item hidden widths \(itemHidden) given): the mean advantage is then ψ of the mean item embedding")
        guard problems.isEmpty else { throw AgentError.impossible(problems.joined(separator: "; ")) }
    }
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

/// The supervised head's training examples, from the training split of its users.
public enum SupervisedExamples: String, Sendable, Codable, CaseIterable {
    /// SQN's: the item taken next, from the items taken before it (sequential order).
    case next
    /// Any training item, from the user's most recent other training items: what a random
    /// held-out split asks (its held-out items are a random part of the user's items, not the next).
    case bag
}

// MARK: 2. State features

/// Turns (user, step, last N items) into the state vector: [mean of the embeddings of the last N
/// consumed items, embedding of the last one, fraction of the session left] and, goal-conditioned,
/// [mean embedding of the rationales not yet achieved]. The time feature matters: without it a
/// state in the middle of a session and one at its end look alike, and bootstrapped values smear
/// across the horizon.
public struct StateFeaturizer: Sendable {
    /// The agent's item features (``ItemRepresentation``), one row per catalog item.
    public let embeddings: Matrix
    /// Width of the goal vector: the rationale (text) embedding width, whatever the item features are.
    public let goalWidth: Int
    /// Each user's goal with nothing achieved yet (the start of every session).
    public let goals: [[Float]]?
    /// Where goals with some rationales achieved are computed from (goal-conditioned only).
    let goalSource: AgentDataset?
    public let historyLength: Int
    public let episodeLength: Int
    public var size: Int { embeddings.cols * 2 + 1 + (goals == nil ? 0 : goalWidth) }

    /// - Parameter itemFeatures: the agent's view of items (``ItemFeatures/matrix(_:dataset:seed:bpr:)``);
    ///   nil means the dataset's text embeddings.
    public init(dataset: AgentDataset, itemFeatures: Matrix? = nil, historyLength: Int, episodeLength: Int, goalConditioned: Bool) {
        embeddings = itemFeatures ?? dataset.embeddings
        goalWidth = dataset.dimension
        self.historyLength = historyLength
        self.episodeLength = episodeLength
        goals = goalConditioned ? dataset.users.indices.map { dataset.goalVector(user: $0) } : nil
        goalSource = goalConditioned ? dataset : nil
    }

    /// Writes the features of one state into `out[0..<size]`; `achieved` is the mask of the
    /// user's rationales achieved so far this session (``AgentDataset/goalVector(user:achieved:)``).
    public func write(user: Int, step: Int, history: UnsafeBufferPointer<Int32>, achieved: UInt32 = 0,
                      into out: UnsafeMutablePointer<Float>) {
        let d = embeddings.cols
        embeddings.storage.withUnsafeBufferPointer { e in
            // One vectorised pass over the history's rows (this runs for 2 × batch states per update).
            if let last = VectorKernels.meanOfRows(e.baseAddress!, width: d, rows: history, into: out) {
                (out + d).update(from: e.baseAddress! + last * d, count: d)
            } else {
                (out + d).update(repeating: 0, count: d)
            }
        }
        out[2 * d] = Float(episodeLength - step) / Float(episodeLength)
        if let goals, let source = goalSource {
            let g = achieved == 0 ? goals[user] : source.goalVector(user: user, achieved: achieved)
            g.withUnsafeBufferPointer { g in (out + 2 * d + 1).update(from: g.baseAddress!, count: goalWidth) }
        }
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
    /// Dueling only: V(s) = w·φ(s) + c, stored as [w (width), c].
    public let value: TensorSpec?
    /// SQN only: the supervised head's own linear item tower and item biases (it shares φ).
    public let supervisedItemTower: MLP?
    public let supervisedBias: TensorSpec?
    public let items: Int

    /// Builds the layout and a freshly initialised parameter set.
    public static func make(stateSize: Int, itemSize: Int, items: Int, configuration c: DQNConfiguration,
                            rng: inout SeededGenerator) -> (QNetwork, ParameterSet) {
        var p = ParameterSet()
        let phi = MLP(name: "state", sizes: [stateSize] + c.stateHidden + [c.towerWidth], parameters: &p, initializer: c.initializer, rng: &rng)
        let psi = MLP(name: "item", sizes: [itemSize] + c.itemHidden + [c.towerWidth], parameters: &p, initializer: c.initializer, rng: &rng)
        let bias = p.allocate("item_bias", shape: [items])
        // Allocated last (and zero), so the other parameters sit where they do without it.
        let value = c.isDueling ? p.allocate("value", shape: [c.towerWidth + 1]) : nil
        var supervised: MLP?, supervisedBias: TensorSpec?
        if c.hasSupervisedHead {
            supervised = MLP(name: "supervised_item", sizes: [itemSize, c.towerWidth], parameters: &p, initializer: c.initializer, rng: &rng)
            supervisedBias = p.allocate("supervised_bias", shape: [items])
        }
        return (QNetwork(stateTower: phi, itemTower: psi, itemBias: bias, value: value, supervisedItemTower: supervised,
                         supervisedBias: supervisedBias, items: items), p)
    }

    public var width: Int { stateTower.outputSize }

    /// ψ(e_a) for every catalog item: `items × width`, row-major.
    public func catalog(_ embeddings: Matrix, parameters: ParameterSet) -> [Float] {
        QNetwork.output(of: itemTower, over: embeddings, parameters: parameters)
    }

    /// An item tower's output for every row of `embeddings`: `rows × width`, row-major.
    static func output(of tower: MLP, over embeddings: Matrix, parameters: ParameterSet) -> [Float] {
        let rows = embeddings.rows
        // Uninitialised: the forward writes every element (bias, then GEMM), so no zero fill.
        let activations = [Float](unsafeUninitializedCapacity: tower.activationCount(rows: rows)) { buffer, count in
            embeddings.storage.withUnsafeBufferPointer { e in
                parameters.values.withUnsafeBufferPointer { p in
                    tower.forward(e.baseAddress!, rows: rows, parameters: p.baseAddress!, activations: buffer.baseAddress!)
                }
            }
            count = buffer.count
        }
        let output = tower.activationOffset(layer: tower.layers.count - 1, rows: rows)
        return output == 0 ? activations : Array(activations[output...])
    }

    /// Q-values of every item for a batch of state-tower outputs: `batch × items`.
    public func scores(stateOutput phi: [Float], batch: Int, catalog psi: [Float], parameters: ParameterSet) -> [Float] {
        [Float](unsafeUninitializedCapacity: batch * items) { q, count in
            phi.withUnsafeBufferPointer { a in
                psi.withUnsafeBufferPointer { c in
                    parameters.values.withUnsafeBufferPointer { p in
                        scores(stateOutput: a.baseAddress!, batch: batch, catalog: c.baseAddress!, parameters: p.baseAddress!, into: q.baseAddress!)
                    }
                }
            }
            count = q.count
        }
    }

    /// `q[batch × items] = φ · ψᵀ + b` on raw pointers (`p` is the parameter values).
    public func scores(stateOutput phi: UnsafePointer<Float>, batch: Int, catalog psi: UnsafePointer<Float>,
                       parameters p: UnsafePointer<Float>, into q: UnsafeMutablePointer<Float>) {
        let k = width, n = items
        for b in 0..<batch { (q + b * n).update(from: p + itemBias.offset, count: n) }
        Kernels.sgemm(transA: false, transB: true, m: batch, n: n, k: k, alpha: 1, a: phi, lda: k,
                      b: psi, ldb: k, beta: 1, c: q, ldc: n)
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
    /// Masks of the rationales achieved at the state before and at the bootstrap state (UInt32
    /// bit patterns; zero unless the agent is goal-conditioned).
    public internal(set) var achievedBefore: [Int32]
    public internal(set) var achievedAfter: [Int32]
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
        achievedBefore = users
        achievedAfter = users
    }

    public mutating func add(user: Int, step: Int, before b: [Int32], after a: [Int32], action: Int, reward: Float, discount: Float, recommended r: [Int32],
                             achievedBefore ab: UInt32 = 0, achievedAfter aa: UInt32 = 0) {
        let i = position
        achievedBefore[i] = Int32(bitPattern: ab)
        achievedAfter[i] = Int32(bitPattern: aa)
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
    var achievedBefore: UInt32 = 0
    var achievedAfter: UInt32 = 0
}

/// Where each intermediate of `DQNAgent.update()` lives in the agent's scratch buffer (offsets
/// in floats); one buffer, so an update allocates nothing in proportion to the network.
struct UpdateLayout {
    /// s (rows 0..<batch) and s′ (rows batch..<2·batch).
    var states = 0
    /// Online state-tower activations for 2·batch rows; target state-tower activations for batch rows.
    var online = 0, target = 0
    /// Q-values of every item at s′ (batch × items), for the argmax.
    var scores = 0
    /// Embeddings of the sampled actions and the item tower's activations on them.
    var itemInput = 0, item = 0
    /// Output gradients of the two towers and the backward passes' scratch.
    var dPhi = 0, dPsi = 0, scratch = 0
    var count = 0

    /// Dueling: ψ_θ′ of the mean item embedding (the target's mean advantage direction).
    var targetMean = 0

    /// `itemRows` is the batch, plus one row for the mean item embedding ē with dueling heads.
    init(network: QNetwork, stateSize: Int, itemSize: Int, batch: Int, itemRows: Int) {
        var next = 0
        func take(_ size: Int) -> Int { defer { next += size }; return next }
        let phi = network.stateTower, psi = network.itemTower
        states = take(2 * batch * stateSize)
        online = take(phi.activationCount(rows: 2 * batch))
        target = take(phi.activationCount(rows: batch))
        scores = take(batch * network.items)
        itemInput = take(itemRows * itemSize)
        item = take(psi.activationCount(rows: itemRows))
        dPhi = take(batch * network.width)
        dPsi = take(itemRows * network.width)
        scratch = take(max(phi.backwardScratchCount(batch: batch), psi.backwardScratchCount(batch: itemRows)))
        targetMean = take(psi.activationCount(rows: 1))
        count = next
    }

    /// The regions as pointers into a buffer of `count` floats.
    struct Pointers {
        let states, online, target, scores, itemInput, item, dPhi, dPsi, scratch, targetMean: UnsafeMutablePointer<Float>
    }

    func pointers(_ base: UnsafeMutablePointer<Float>) -> Pointers {
        Pointers(states: base + states, online: base + online, target: base + target, scores: base + scores,
                 itemInput: base + itemInput, item: base + item, dPhi: base + dPhi, dPsi: base + dPsi, scratch: base + scratch,
                 targetMean: base + targetMean)
    }
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
    /// Exponential moving average of the update loss, weight 0.02 on the newest update (about the
    /// last 50 updates), the first update's loss at the start: for the progress line and curve.
    public internal(set) var recentLoss = 0.0
    /// Dueling: ē, the mean catalog item embedding (ψ(ē) is the mean advantage direction).
    let meanEmbedding: [Float]?
    /// SQN: the supervised head's ψ_s over the catalog for the current online parameters.
    var supervisedCatalog: [Float]?
    /// Users whose training histories feed the supervised head: `TrainingRun` sets its training
    /// users, so held-out users stay unseen; every user with two or more training items otherwise.
    public var supervisedUsers: [Int]
    /// Moving average of the supervised head's cross-entropy (as `recentLoss`).
    public internal(set) var recentSupervisedLoss = 0.0
    /// Items never to recommend per user (the training history) and, observed-only, the only allowed ones.
    let consumed: [[Int32]]
    let observed: [[Int32]]?
    /// ψ over the catalog for the current online / target parameters; recomputed after they change.
    var onlineCatalog: [Float]?
    var targetCatalog: [Float]?
    var pending: [PendingStep] = []
    /// Scratch memory of `update()` (see `UpdateLayout`), kept between updates so that an update
    /// allocates nothing; its contents mean nothing outside an update and are not checkpointed.
    var workspace: [Float] = []

    /// - Parameter itemFeatures: the matrix ``ItemFeatures/matrix(_:dataset:seed:bpr:)`` built for
    ///   `configuration.itemRepresentation` (``TrainingRun`` fits it once, with the simulator's seed,
    ///   for every method and run seed); nil builds it here with `seed`.
    public init(dataset: AgentDataset, configuration c: DQNConfiguration, seed: UInt64, itemFeatures: Matrix? = nil) throws {
        try c.validate()
        guard c.episodeLength <= dataset.itemCount else {
            throw AgentError.impossible("episode length T = \(c.episodeLength) is larger than the catalog (\(dataset.itemCount) items)")
        }
        let features = try itemFeatures ?? ItemFeatures.matrix(c.itemRepresentation ?? .text, dataset: dataset, seed: seed)
        guard features.rows == dataset.itemCount else {
            throw AgentError.impossible("item features have \(features.rows) rows for a catalog of \(dataset.itemCount) items")
        }
        configuration = c
        let root = SeededGenerator(seed: seed)
        var initRNG = root.fork("dqn-init")
        featurizer = StateFeaturizer(dataset: dataset, itemFeatures: features, historyLength: c.historyLength, episodeLength: c.episodeLength,
                                     goalConditioned: c.goalConditioned)
        let (net, params) = QNetwork.make(stateSize: featurizer.size, itemSize: features.cols, items: dataset.itemCount,
                                          configuration: c, rng: &initRNG)
        network = net
        online = params
        target = params
        optimizer = Adam(parameterCount: params.count, learningRate: c.learningRate, epsilon: c.adamEpsilon, weightDecay: c.weightDecay)
        replay = ReplayBuffer(capacity: c.replayCapacity, historyLength: c.historyLength, episodeLength: c.episodeLength)
        rng = root.fork("dqn-agent")
        consumed = dataset.users.map { $0.history.map(Int32.init) }
        supervisedUsers = dataset.users.indices.filter { dataset.users[$0].history.count >= 2 }
        meanEmbedding = c.isDueling ? (0..<features.cols).map { j in
            (0..<dataset.itemCount).reduce(Float(0)) { $0 + features[$1, j] } / Float(dataset.itemCount)
        } : nil
        observed = c.observedOnly ? dataset.users.map { $0.heldOut.keys.sorted().map(Int32.init) } : nil
    }

    mutating func ensureCatalogs() {
        if onlineCatalog == nil { onlineCatalog = network.catalog(featurizer.embeddings, parameters: online) }
        if targetCatalog == nil { targetCatalog = network.catalog(featurizer.embeddings, parameters: target) }
    }

    /// φ(s) for one state under the online parameters (both heads score from it).
    func stateOutput(user: Int, step: Int, history: [Int32], achieved: UInt32) -> [Float] {
        var x = [Float](repeating: 0, count: featurizer.size)
        history.withUnsafeBufferPointer { h in
            x.withUnsafeMutableBufferPointer { featurizer.write(user: user, step: step, history: h, achieved: achieved, into: $0.baseAddress!) }
        }
        return network.stateTower(x, batch: 1, parameters: online)
    }

    /// Q-values of every catalog item in one state (greedy scoring; no exploration).
    public mutating func qValues(user: Int, step: Int, history: [Int32], achieved: UInt32 = 0) -> [Float] {
        ensureCatalogs()
        let phi = stateOutput(user: user, step: step, history: history, achieved: achieved)
        var q = network.scores(stateOutput: phi, batch: 1, catalog: onlineCatalog!, parameters: online)
        if let meanEmbedding {
            // The advantage is the two-tower score; V(s) − mean_a A(s, a) is one number per state.
            let mean = network.itemTower(meanEmbedding, batch: 1, parameters: online)
            let shift = online.values.withUnsafeBufferPointer { p in
                phi.withUnsafeBufferPointer { f in
                    mean.withUnsafeBufferPointer { m in
                        duelingShift(phi: f.baseAddress!, meanPsi: m.baseAddress!, biasMean: meanItemBias(p.baseAddress!), parameters: p.baseAddress!)
                    }
                }
            }
            for a in q.indices { q[a] += shift }
        }
        return q
    }

    /// V(s) − mean_a A(s, a) = w·φ + c − (φ·ψ(ē) + b̄) for one state's φ; b̄ from `meanItemBias`,
    /// once per parameter set rather than once per state.
    func duelingShift(phi: UnsafePointer<Float>, meanPsi: UnsafePointer<Float>, biasMean: Float, parameters p: UnsafePointer<Float>) -> Float {
        guard let value = network.value else { return 0 }
        let k = network.width
        var dot: Float = 0
        for j in 0..<k { dot += phi[j] * (p[value.offset + j] - meanPsi[j]) }
        return dot + p[value.offset + k] - biasMean
    }

    /// b̄, the mean of the item biases of a parameter set.
    func meanItemBias(_ p: UnsafePointer<Float>) -> Float {
        let n = network.items
        var sum: Float = 0
        for a in 0..<n { sum += p[network.itemBias.offset + a] }
        return sum / Float(n)
    }

    /// ε-greedy over the allowed items; greedy ties go to the lowest index.
    public mutating func act(user: Int, step: Int, history: [Int32], allowed: [Bool], allowedCount: Int, epsilon: Double,
                             achieved: UInt32 = 0) -> Int {
        precondition(allowedCount > 0, "no allowed action")
        if rng.nextUnit() < epsilon {
            var k = rng.nextIndex(allowedCount)
            for i in allowed.indices where allowed[i] {
                if k == 0 { return i }
                k -= 1
            }
        }
        let q = qValues(user: user, step: step, history: history, achieved: achieved)
        var best = -1
        var bestQ = -Float.infinity
        for i in q.indices where allowed[i] && (best < 0 || q[i] > bestQ) { best = i; bestQ = q[i] }
        return best
    }

    /// Records a step; transitions leave the n-step queue once their return is complete.
    public mutating func observe(user: Int, step: Int, before: [Int32], action: Int, reward: Double, after: [Int32],
                                 recommendedAfter: [Int], terminal: Bool, achievedBefore: UInt32 = 0, achievedAfter: UInt32 = 0) {
        var r = Float(reward)
        if configuration.rewardClip > 0 { r = max(-Float(configuration.rewardClip), min(Float(configuration.rewardClip), r)) }
        pending.append(PendingStep(step: step, before: before, action: action, reward: r, after: after,
                                   recommendedAfter: recommendedAfter.map(Int32.init), terminal: terminal,
                                   achievedBefore: achievedBefore, achievedAfter: achievedAfter))
        if pending.count >= configuration.nStep { flushOldest(user: user) }
        if terminal { while !pending.isEmpty { flushOldest(user: user) } }
    }

    private mutating func flushOldest(user: Int) {
        let m = min(configuration.nStep, pending.count)
        var ret: Float = 0, g: Float = 1
        for k in 0..<m { ret += g * pending[k].reward; g *= configuration.gamma }
        let last = pending[m - 1]
        replay.add(user: user, step: pending[0].step, before: pending[0].before, after: last.after, action: pending[0].action, reward: ret,
                   discount: last.terminal ? 0 : g, recommended: last.recommendedAfter,
                   achievedBefore: pending[0].achievedBefore, achievedAfter: last.achievedAfter)
        pending.removeFirst()
    }

    /// One gradient update on a uniformly sampled minibatch (double-DQN targets, Huber loss,
    /// gradient clipping, Adam). Returns the loss. In CleanRL's terms:
    ///
    ///     y = R + γⁿ · Q_θ′(s′, argmax_a′ Q_θ(s′, a′))      (tdTargets; 0 past a session's end)
    ///     loss = Huber(Q_θ(s, a), y)                        (onlineQ)
    ///     θ ← Adam(θ, ∇loss);  θ′ ← θ every C steps, or τθ + (1−τ)θ′ after every update
    ///
    /// The GEMMs are most of an update; the glue between them works through raw pointers in one
    /// scratch buffer kept between updates (`UpdateLayout`), because allocating, zeroing and
    /// copying an array for every intermediate cost about a sixth of an update.
    @discardableResult
    public mutating func update() -> Double {
        guard replay.count >= configuration.batchSize else { return 0 }
        ensureCatalogs()
        let loss = lossAndGradients(sampleBatch())
        if let w = configuration.supervisedWeight, w > 0, let ce = supervisedLossAndGradients(weight: w) {
            recentSupervisedLoss = updates == 0 ? ce : 0.98 * recentSupervisedLoss + 0.02 * ce
        }
        optimizerStep()
        recentLoss = updates == 1 ? loss : 0.98 * recentLoss + 0.02 * loss
        return loss
    }

    /// The minibatch loss, with its gradient left in `online.gradients` (the catalogs must be current).
    mutating func lossAndGradients(_ batch: Batch) -> Double {
        let layout = UpdateLayout(network: network, stateSize: featurizer.size, itemSize: featurizer.embeddings.cols, batch: batch.size,
                                  itemRows: batch.itemRows)
        // Take the scratch buffer out of `self` so that writing through it never copies it.
        var work = workspace.count == layout.count ? workspace : [Float](repeating: 0, count: layout.count)
        workspace = []
        let loss = work.withUnsafeMutableBufferPointer { w -> Double in
            let ws = layout.pointers(w.baseAddress!)
            writeStates(batch, into: ws)
            let (y, q) = withReadPointers { p -> ([Float], [Float]) in
                forwardStates(batch, ws, p)
                let y = tdTargets(batch, ws, p)
                return (y, onlineQ(batch, ws, p))
            }
            let (loss, dq) = HuberLoss.evaluate(prediction: q, target: y, delta: configuration.huberDelta)
            backward(dq, batch, ws)
            return loss
        }
        workspace = work
        return loss
    }

    /// A minibatch: buffer rows drawn uniformly with replacement, and their actions.
    struct Batch {
        var rows: [Int]
        var actions: [Int]
        var size: Int { rows.count }
        /// Rows of the online state-tower forward: s and, for double DQN, s′ (one 2·batch-row
        /// forward; rows are independent, so each comes out as from its own forward).
        var onlineRows: Int
        /// Rows of the item-tower forward: the actions, and ē last with dueling heads.
        var itemRows: Int
    }

    mutating func sampleBatch() -> Batch {
        let bsz = configuration.batchSize
        var rows = [Int](repeating: 0, count: bsz)
        for b in 0..<bsz { rows[b] = rng.nextIndex(replay.count) }
        return Batch(rows: rows, actions: rows.map { Int(replay.actions[$0]) }, onlineRows: configuration.doubleDQN ? 2 * bsz : bsz,
                     itemRows: meanEmbedding == nil ? bsz : bsz + 1)
    }

    /// States rebuilt from the buffer's indices: s in rows 0..<batch, the bootstrap state s′ in
    /// rows batch..<2·batch; s′'s step is the number of items recommended by then.
    func writeStates(_ batch: Batch, into ws: UpdateLayout.Pointers) {
        let hl = configuration.historyLength, el = configuration.episodeLength, size = featurizer.size, bsz = batch.size
        replay.before.withUnsafeBufferPointer { before in
            replay.after.withUnsafeBufferPointer { after in
                for (b, i) in batch.rows.enumerated() {
                    let u = Int(replay.users[i])
                    var bootstrapStep = 0
                    for r in replay.recommended[(i * el)..<((i + 1) * el)] where r >= 0 { bootstrapStep += 1 }
                    featurizer.write(user: u, step: Int(replay.steps[i]), history: UnsafeBufferPointer(rebasing: before[(i * hl)..<((i + 1) * hl)]),
                                     achieved: UInt32(bitPattern: replay.achievedBefore[i]), into: ws.states + b * size)
                    featurizer.write(user: u, step: bootstrapStep, history: UnsafeBufferPointer(rebasing: after[(i * hl)..<((i + 1) * hl)]),
                                     achieved: UInt32(bitPattern: replay.achievedAfter[i]), into: ws.states + (bsz + b) * size)
                }
            }
        }
    }

    /// What an update reads, as pointers valid inside `body`: both parameter sets and both
    /// catalog projections ψ(e) (the one place the nesting of buffer accesses lives).
    struct ReadPointers {
        let online, target, onlineCatalog, targetCatalog: UnsafePointer<Float>
    }

    func withReadPointers<R>(_ body: (ReadPointers) -> R) -> R {
        online.values.withUnsafeBufferPointer { op in
            target.values.withUnsafeBufferPointer { tp in
                onlineCatalog!.withUnsafeBufferPointer { oc in
                    targetCatalog!.withUnsafeBufferPointer { tc in
                        body(ReadPointers(online: op.baseAddress!, target: tp.baseAddress!, onlineCatalog: oc.baseAddress!, targetCatalog: tc.baseAddress!))
                    }
                }
            }
        }
    }

    /// The state tower on the batch: φ_θ on s (and s′ for double DQN), φ_θ′ on s′.
    func forwardStates(_ batch: Batch, _ ws: UpdateLayout.Pointers, _ p: ReadPointers) {
        let phi = network.stateTower, bsz = batch.size
        phi.forward(UnsafePointer(ws.states), rows: batch.onlineRows, parameters: p.online, activations: ws.online)
        phi.forward(UnsafePointer(ws.states + bsz * featurizer.size), rows: bsz, parameters: p.target, activations: ws.target)
    }

    /// y = R + γⁿ · Q_θ′(s′, a′), a′ = argmax over the unmasked items of Q_θ(s′, ·) (double DQN)
    /// or of Q_θ′(s′, ·); y = R where the n steps reached the session's end (γⁿ stored as 0).
    func tdTargets(_ batch: Batch, _ ws: UpdateLayout.Pointers, _ p: ReadPointers) -> [Float] {
        let phi = network.stateTower, bsz = batch.size, n = network.items, k = network.width, el = configuration.episodeLength
        let phiOnline = UnsafePointer(ws.online + phi.activationOffset(layer: phi.layers.count - 1, rows: batch.onlineRows))
        let phiTarget = UnsafePointer(ws.target + phi.activationOffset(layer: phi.layers.count - 1, rows: bsz))
        if configuration.doubleDQN {
            network.scores(stateOutput: phiOnline + bsz * k, batch: bsz, catalog: p.onlineCatalog, parameters: p.online, into: ws.scores)
        } else {
            network.scores(stateOutput: phiTarget, batch: bsz, catalog: p.targetCatalog, parameters: p.target, into: ws.scores)
        }
        if let meanEmbedding {
            meanEmbedding.withUnsafeBufferPointer { e in network.itemTower.forward(e.baseAddress!, rows: 1, parameters: p.target, activations: ws.targetMean) }
        }
        let targetMeanPsi = UnsafePointer(ws.targetMean + network.itemTower.activationOffset(layer: network.itemTower.layers.count - 1, rows: 1))
        let targetBiasMean = meanEmbedding == nil ? 0 : meanItemBias(p.target)
        var y = [Float](repeating: 0, count: bsz)
        for (b, i) in batch.rows.enumerated() {
            let discount = replay.discounts[i]
            y[b] = replay.rewards[i]
            guard discount > 0 else { continue }
            let u = Int(replay.users[i])
            let best = replay.recommended.withUnsafeBufferPointer { r in
                DQNAgent.bestAction(scores: ws.scores + b * n, items: n, consumed: consumed[u],
                                    recommended: UnsafeBufferPointer(rebasing: r[(i * el)..<((i + 1) * el)]), allowed: observed?[u])
            }
            // Q_θ′(s′, a′) only at the chosen a′: one k-dot per row instead of a batch × catalog GEMM.
            guard let a = best else { continue }
            var dot: Float = 0
            for j in 0..<k { dot += phiTarget[b * k + j] * p.targetCatalog[a * k + j] }
            if meanEmbedding != nil { dot += duelingShift(phi: phiTarget + b * k, meanPsi: targetMeanPsi, biasMean: targetBiasMean, parameters: p.target) }
            y[b] += discount * (dot + p.target[network.itemBias.offset + a])
        }
        return y
    }

    /// Q_θ(s, a) through both towers, only for the sampled actions (the item tower runs on their
    /// embeddings, whose activations the backward pass needs).
    func onlineQ(_ batch: Batch, _ ws: UpdateLayout.Pointers, _ p: ReadPointers) -> [Float] {
        let phi = network.stateTower, psi = network.itemTower, bsz = batch.size, k = network.width
        let d = featurizer.embeddings.cols
        featurizer.embeddings.storage.withUnsafeBufferPointer { e in
            for (b, a) in batch.actions.enumerated() { (ws.itemInput + b * d).update(from: e.baseAddress! + a * d, count: d) }
        }
        meanEmbedding?.withUnsafeBufferPointer { e in (ws.itemInput + bsz * d).update(from: e.baseAddress!, count: d) }
        psi.forward(ws.itemInput, rows: batch.itemRows, parameters: p.online, activations: ws.item)
        let phiOnline = ws.online + phi.activationOffset(layer: phi.layers.count - 1, rows: batch.onlineRows)
        let psiOnline = ws.item + psi.activationOffset(layer: psi.layers.count - 1, rows: batch.itemRows)
        let biasMean = meanEmbedding == nil ? 0 : meanItemBias(p.online)
        var q = [Float](repeating: 0, count: bsz)
        for b in 0..<bsz {
            var dot: Float = 0
            for j in 0..<k { dot += phiOnline[b * k + j] * psiOnline[b * k + j] }
            if meanEmbedding != nil { dot += duelingShift(phi: phiOnline + b * k, meanPsi: psiOnline + bsz * k, biasMean: biasMean, parameters: p.online) }
            q[b] = dot + p.online[network.itemBias.offset + batch.actions[b]]
        }
        return q
    }

    /// Gradients of the loss into `online`: ∂Q/∂φ = ψ, ∂Q/∂ψ = φ, ∂Q/∂b_a = 1, through both towers
    /// (the state tower only over the s rows of its forward).
    mutating func backward(_ dq: [Float], _ batch: Batch, _ ws: UpdateLayout.Pointers) {
        let phi = network.stateTower, psi = network.itemTower, bsz = batch.size, k = network.width
        let phiOnline = ws.online + phi.activationOffset(layer: phi.layers.count - 1, rows: batch.onlineRows)
        let psiOnline = ws.item + psi.activationOffset(layer: psi.layers.count - 1, rows: batch.itemRows)
        let biasOffset = network.itemBias.offset, net = network
        online.zeroGradients()
        online.withValuesAndGradients { p, g in
            for b in 0..<bsz {
                for j in 0..<k {
                    ws.dPhi[b * k + j] = dq[b] * psiOnline[b * k + j]
                    ws.dPsi[b * k + j] = dq[b] * phiOnline[b * k + j]
                }
                g[biasOffset + batch.actions[b]] += dq[b]
            }
            if let value = net.value { DQNAgent.duelingGradients(net, dq, bsz, phiOnline: phiOnline, meanPsi: psiOnline + bsz * k, value: value, ws, p, g) }
            phi.backward(input: UnsafePointer(ws.states), activations: ws.online, rows: batch.onlineRows, batch: bsz, outputGradient: ws.dPhi,
                         parameters: p, gradients: g, scratch: ws.scratch)
            psi.backward(input: ws.itemInput, activations: ws.item, rows: batch.itemRows, batch: batch.itemRows, outputGradient: ws.dPsi,
                         parameters: p, gradients: g, scratch: ws.scratch)
        }
    }

    /// The dueling terms of the gradient, V(s) − φ·ψ(ē) − b̄ added to every Q(s, a):
    /// ∂/∂φ += w − ψ(ē); ∂/∂w = φ and ∂/∂c = 1 (the value head); ∂/∂ψ(ē) = −φ, a gradient row for
    /// the item tower's ē row; ∂/∂b_j = −1/n for every item (the mean bias).
    static func duelingGradients(_ network: QNetwork, _ dq: [Float], _ bsz: Int, phiOnline: UnsafeMutablePointer<Float>,
                                 meanPsi: UnsafeMutablePointer<Float>, value: TensorSpec, _ ws: UpdateLayout.Pointers,
                                 _ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>) {
        let k = network.width, n = network.items
        let meanRow = ws.dPsi + bsz * k
        meanRow.update(repeating: 0, count: k)
        var dqSum: Float = 0
        for b in 0..<bsz {
            for j in 0..<k {
                ws.dPhi[b * k + j] += dq[b] * (p[value.offset + j] - meanPsi[j])
                g[value.offset + j] += dq[b] * phiOnline[b * k + j]
                meanRow[j] -= dq[b] * phiOnline[b * k + j]
            }
            dqSum += dq[b]
        }
        g[value.offset + k] += dqSum
        for a in 0..<n { g[network.itemBias.offset + a] -= dqSum / Float(n) }
    }

    /// Clip, Adam, and the target network's Polyak blend when τ > 0 (hard copies are the caller's).
    mutating func optimizerStep() {
        let c = configuration
        if c.gradientClip > 0 { online.clipGradientNorm(c.gradientClip) }
        optimizer.update(&online)
        onlineCatalog = nil
        supervisedCatalog = nil
        updates += 1
        if c.polyakTau > 0 {
            target.blend(towards: online, tau: c.polyakTau)
            targetCatalog = nil
        }
    }

    /// The double-DQN a′ in one row of Q-values: the first highest-scoring item that is neither
    /// consumed nor already recommended (and, observed-only, among `allowed`); nil when none is left.
    /// Overwrites the masked items' scores.
    static func bestAction(scores q: UnsafeMutablePointer<Float>, items n: Int, consumed: [Int32],
                           recommended: UnsafeBufferPointer<Int32>, allowed: [Int32]?) -> Int? {
        if allowed == nil {
            // Masked items score −∞, then one vectorised first-argmax over the row (the scalar scan
            // below, run 64 times over the catalog, was a visible part of an update). It gives the
            // scan's answer whenever the maximum is above −∞ and no score is NaN.
            for h in consumed { q[Int(h)] = -.infinity }
            for r in recommended where r >= 0 { q[Int(r)] = -.infinity }
            if let a = VectorKernels.firstIndexOfMaximum(q, count: n), q[a] > -.infinity { return a }
        }
        // The scan itself: the first allowed unmasked item, then each strictly better one.
        var masked = [Bool](repeating: false, count: n)
        for h in consumed { masked[Int(h)] = true }
        for r in recommended where r >= 0 { masked[Int(r)] = true }
        var best = -1
        var bestQ = -Float.infinity
        if let allowed {
            for a in allowed.lazy.map(Int.init) where !masked[a] && (best < 0 || q[a] > bestQ) { best = a; bestQ = q[a] }
        } else {
            for a in 0..<n where !masked[a] && (best < 0 || q[a] > bestQ) { best = a; bestQ = q[a] }
        }
        return best >= 0 ? best : nil
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
    ///
    /// A goal-conditioned agent passes `goals`, an ELLM reward used only for which rationales the
    /// session has achieved (in every phase, whatever pays): the state's goal is the rationales
    /// still open, as ELLM conditions on the suggestions not yet achieved.
    public mutating func runEpisode(environment env: inout RecommendationEnvironment, user: Int,
                                    reward: inout any AgentReward, goals: inout ELLMAgentReward?, epsilon: (Int) -> Double,
                                    phaseStep: inout Int) throws -> EpisodeSummary {
        let c = configuration
        try env.reset(user: user)
        let userID = env.simulator.dataset.users[user].id
        reward.beginEpisode(user: userID)
        goals?.beginEpisode(user: userID)
        var total = 0.0, ratings = 0.0, liked = 0
        while !env.done {
            let before = env.recentHistory
            let t = env.step
            let achievedBefore = goals?.achievedMask ?? 0
            let a = act(user: user, step: t, history: before, allowed: env.allowed, allowedCount: env.allowedCount, epsilon: epsilon(phaseStep),
                        achieved: achievedBefore)
            let response = env.recommend(a)
            let r = reward.reward(for: a)
            _ = goals?.reward(for: a)
            total += r
            ratings += response.rating
            if response.liked { liked += 1 }
            observe(user: user, step: t, before: before, action: a, reward: r, after: env.recentHistory,
                    recommendedAfter: env.recommended, terminal: env.done, achievedBefore: achievedBefore, achievedAfter: goals?.achievedMask ?? 0)
            phaseStep += 1
            if phaseStep > c.learningStarts && phaseStep % c.trainFrequency == 0 {
                // A NaN or infinite loss poisons every weight from here on; stop where it arose
                // rather than train on and report NaN as results.
                let loss = update()
                guard loss.isFinite else {
                    throw AgentError.nonFinite("the DQN loss is \(loss) at update \(updates) (phase step \(phaseStep)); lower the learning rate (now \(c.learningRate)) or check the rewards and embeddings")
                }
            }
            if c.polyakTau <= 0 && c.targetUpdateInterval > 0 && phaseStep % c.targetUpdateInterval == 0 { syncTarget() }
        }
        return EpisodeSummary(user: user, episodeReturn: total, meanRating: ratings / Double(c.episodeLength),
                              liked: liked, achieved: reward.achievedThisEpisode)
    }

    /// One session of an agent that is not goal-conditioned.
    public mutating func runEpisode(environment env: inout RecommendationEnvironment, user: Int,
                                    reward: inout any AgentReward, epsilon: (Int) -> Double,
                                    phaseStep: inout Int) throws -> EpisodeSummary {
        var none: ELLMAgentReward?
        return try runEpisode(environment: &env, user: user, reward: &reward, goals: &none, epsilon: epsilon, phaseStep: &phaseStep)
    }
}
