import Foundation
import RecDistances
import RecKit
import RecNN
import RecNumerics
import RecRewards

/// An `IntrinsicReward` whose state (counts, networks) survives a checkpoint. Stateless rewards
/// keep the default (nothing to save).
public protocol AgentReward: IntrinsicReward {
    /// Tensors to write into a checkpoint, names unprefixed.
    func checkpointTensors() -> [String: StoredTensor]
    /// Restores what `checkpointTensors` wrote; `file` is named in errors.
    mutating func restore(from tensors: [String: StoredTensor], file: String) throws
    /// Rationales achieved so far this episode (only the ELLM reward counts them).
    var achievedThisEpisode: Int { get }
}

extension AgentReward {
    public func checkpointTensors() -> [String: StoredTensor] { [:] }
    public mutating func restore(from tensors: [String: StoredTensor], file: String) throws {}
    public var achievedThisEpisode: Int { 0 }
}

/// The user's simulated rating, normalised to [0, 1] (or [−1, 1] centred on the scale's middle).
public struct ExtrinsicReward: AgentReward {
    public let simulator: UserSimulator
    public let signed: Bool
    private var user = 0
    public init(simulator: UserSimulator, signed: Bool = false) { self.simulator = simulator; self.signed = signed }
    public var name: String { signed ? "extrinsic-signed" : "extrinsic" }
    public mutating func beginEpisode(user: Int64) {
        self.user = simulator.dataset.users.firstIndex { $0.id == user } ?? 0
    }
    /// Faster than `beginEpisode(user:)` when the index is known.
    public mutating func beginEpisode(userIndex: Int) { user = userIndex }
    public mutating func reward(for item: Int) -> Double {
        let s = simulator.dataset.scale
        let unit = (simulator.rating(user: user, item: item) - s.min) / max(s.max - s.min, 1e-9)
        return signed ? 2 * unit - 1 : unit
    }
}

/// ELLM's rationale reward (from RecRewards) with the achieved-goal count exposed for metrics.
public struct ELLMAgentReward: AgentReward {
    public var inner: ELLMReward
    /// "ellm", or "ellm-novelty" for ELLM's goal-novelty baseline (``makeGoalNovelty``).
    public let name: String
    public init(_ inner: ELLMReward, name: String = "ellm") { self.inner = inner; self.name = name }
    public mutating func beginEpisode(user: Int64) { inner.beginEpisode(user: user) }
    public mutating func reward(for item: Int) -> Double { inner.reward(for: item) }
    public var achievedThisEpisode: Int { inner.achieved.count }
    /// The achieved rationales as a bit mask (bit j: the user's j-th; those past the 32nd are not represented).
    public var achievedMask: UInt32 { inner.achieved.reduce(0) { $1 < 32 ? $0 | (1 << UInt32($1)) : $0 } }

    /// Builds the reward over an agent dataset: `metric` (ELLM's SBERT cosine by default, or any
    /// rationale metric of a registry) between items and rationales, thresholds per rationale at a
    /// catalog percentile (default 0.9). Users carry their liked and not-liked *training* items, so
    /// metrics that calibrate or fit on users (`learned-bilinear`) see the training part only.
    public static func make(dataset: AgentDataset, configuration: ELLMRewardConfiguration = .init(), seed: UInt64,
                            metric: any DescriptionDistance = SBERTCosine()) throws -> ELLMAgentReward {
        guard let re = dataset.rationaleEmbeddings else {
            throw AgentError.missingRationales(dataset: dataset.name, split: dataset.split, reasoner: "aspect")
        }
        try checkUsable(metric)
        let users = dataset.users.enumerated().compactMap { (u, user) -> UserQuery? in
            dataset.rationaleRanges[u].isEmpty ? nil : query(user, rationales: dataset.rationaleRanges[u], like: dataset.scale.likeThreshold)
        }
        let rationales = RationaleSet(texts: dataset.rationales.flatMap { $0 }, embeddings: re)
        return ELLMAgentReward(try reward(dataset: dataset, rationales: rationales, users: users, configuration: configuration,
                                          seed: seed, metric: metric))
    }

    /// ELLM's novelty baseline (`ellm-novelty`): the same reward rule with the goals taken away
    /// from the reasoner's per-user suggestions and given to everyone: every distinct rationale
    /// of the run is a goal for every user, and the reward pays for achieving one not yet
    /// achieved this episode (ELLM's "novelty: all not-yet-achieved goals", here without the LM's
    /// choice of which goals fit the user). Thresholds and payout are the ELLM reward's.
    public static func makeGoalNovelty(dataset: AgentDataset, configuration: ELLMRewardConfiguration = .init(), seed: UInt64,
                                       metric: any DescriptionDistance = SBERTCosine()) throws -> ELLMAgentReward {
        guard let re = dataset.rationaleEmbeddings else {
            throw AgentError.missingRationales(dataset: dataset.name, split: dataset.split, reasoner: "aspect")
        }
        try checkUsable(metric)
        // Distinct texts in first-seen order, each with its embedding row.
        var seen = Set<String>(), texts: [String] = [], rows: [Int] = []
        for (r, t) in dataset.rationales.flatMap({ $0 }).enumerated() where seen.insert(t).inserted { texts.append(t); rows.append(r) }
        let goals = Matrix(rows: rows.count, cols: re.cols, storage: rows.flatMap { re.row($0) })
        let users = dataset.users.map { query($0, rationales: 0..<texts.count, like: dataset.scale.likeThreshold) }
        return ELLMAgentReward(try reward(dataset: dataset, rationales: RationaleSet(texts: texts, embeddings: goals), users: users,
                                          configuration: configuration, seed: seed, metric: metric), name: "ellm-novelty")
    }

    /// A user's query: the rationale rows, and liked and not-liked *training* items.
    static func query(_ user: AgentUser, rationales: Range<Int>, like: Double) -> UserQuery {
        let rated = user.trainRatings.sorted { $0.key < $1.key }
        return UserQuery(userID: user.id, rationales: rationales, likedItems: rated.filter { $0.value >= like }.map(\.key),
                         dislikedItems: rated.filter { $0.value < like }.map(\.key))
    }

    static func checkUsable(_ metric: any DescriptionDistance) throws {
        guard metric.usesRationales else {
            throw AgentError.impossible("metric '\(metric.name)' scores items without rationales; the ELLM reward needs a rationale metric")
        }
        guard !metric.needs.contains(.tokenEmbeddings) else {
            throw MetricError.missingInput(metric: metric.name, what: "token embeddings (rec-train prepares sentence embeddings only)")
        }
    }

    static func reward(dataset: AgentDataset, rationales: RationaleSet, users: [UserQuery], configuration: ELLMRewardConfiguration,
                       seed: UInt64, metric: any DescriptionDistance) throws -> ELLMReward {
        let catalog = ScoringCatalog(texts: dataset.itemTexts, embeddings: dataset.embeddings, popularity: dataset.popularity.map(Float.init))
        let context = ScoringContext(catalog: catalog, rationales: rationales, seed: seed, users: users)
        try context.check(metric)
        return try ELLMReward(configuration: configuration, metric: try metric.prepared(for: context), context: context, users: users)
    }
}

/// APT (Liu & Abbeel 2021), ELLM's particle-based entropy baseline: the reward for showing an
/// item is log(1 + mean Euclidean distance from its embedding to its k nearest neighbours among
/// the last `capacity` items shown in training), k = 12 as in ELLM. Items far from everything
/// recently shown pay most, so the agent is pushed to spread over the catalog's embedding space.
/// ELLM estimates the entropy over a replay batch of states; an online window of shown items is
/// the same estimator over the representation the recommender acts on (Docs/dqn.md, "Rewards").
public struct APTReward: AgentReward {
    public let embeddings: Matrix
    public let k: Int
    public let capacity: Int
    /// Ring buffer of shown items' catalog indices, oldest overwritten first.
    public private(set) var shown: [Int32] = []
    public private(set) var position = 0
    public var name: String { "apt" }

    public init(embeddings: Matrix, k: Int = 12, capacity: Int = 1024) {
        precondition(k >= 1 && capacity >= k, "APT needs k ≥ 1 and a window of at least k items")
        self.embeddings = embeddings; self.k = k; self.capacity = capacity
    }

    public mutating func beginEpisode(user: Int64) {}

    public mutating func reward(for item: Int) -> Double {
        let r = APTReward.particleReward(embeddings.row(item), window: shown, embeddings: embeddings, k: k)
        if shown.count < capacity { shown.append(Int32(item)) } else { shown[position] = Int32(item) }
        position = (position + 1) % capacity
        return r
    }

    /// log(1 + mean of the k smallest distances from `x` to the window's items); 0 for an empty
    /// window, and the mean over all of them while fewer than k have been shown.
    public static func particleReward(_ x: [Float], window: [Int32], embeddings: Matrix, k: Int) -> Double {
        guard !window.isEmpty else { return 0 }
        var nearest: [Double] = []  // ascending, at most k
        nearest.reserveCapacity(k + 1)
        for i in window {
            var d2 = 0.0
            for (j, v) in x.enumerated() { let t = Double(v - embeddings[Int(i), j]); d2 += t * t }
            let d = d2.squareRoot()
            if nearest.count == k, d >= nearest[k - 1] { continue }
            let at = nearest.firstIndex { $0 > d } ?? nearest.count
            nearest.insert(d, at: at)
            if nearest.count > k { nearest.removeLast() }
        }
        return Foundation.log(1 + nearest.reduce(0, +) / Double(nearest.count))
    }

    public func checkpointTensors() -> [String: StoredTensor] {
        ["shown": StoredTensor(shape: [shown.count], ints: shown), "position": StoredTensor(shape: [1], ints: [Int32(position)])]
    }
    public mutating func restore(from tensors: [String: StoredTensor], file: String) throws {
        guard let s = tensors["shown"]?.ints, let p = tensors["position"]?.ints?.first else {
            throw CheckpointError.missingTensor(file: file, tensor: "reward.shown / reward.position (APT window)")
        }
        guard s.count <= capacity, s.allSatisfy({ $0 >= 0 && Int($0) < embeddings.rows }), p >= 0, Int(p) < capacity else {
            throw CheckpointError.shapeMismatch(file: file, tensor: "reward.shown", expected: [capacity], found: [s.count])
        }
        shown = s
        position = Int(p)
    }
}

/// Count-based novelty (`count-novelty`): 1/√n(x) where n counts how often x (an item, or its
/// cluster) has been recommended during training, this recommendation included — an exploration
/// bonus in the style of count-based exploration (Strehl & Littman 2008; Bellemare et al. 2016).
/// Not ELLM's "novelty" baseline, which rewards achieving goals not achieved before
/// (Docs/dqn.md, "Rewards").
public struct NoveltyReward: AgentReward {
    /// Cluster of each item (the item itself when counting items).
    public let assignment: [Int]
    public private(set) var counts: [Float]
    public let clustered: Bool
    public var name: String { clustered ? "count-novelty-cluster" : "count-novelty" }

    public init(items: Int) {
        assignment = Array(0..<items)
        counts = [Float](repeating: 0, count: items)
        clustered = false
    }

    /// Counts over k-means clusters of the item embeddings (seeded Lloyd iterations).
    public init(embeddings: Matrix, clusters k: Int, seed: UInt64) {
        assignment = KMeans.assign(embeddings, k: k, iterations: 15, seed: seed)
        counts = [Float](repeating: 0, count: max(k, 1))
        clustered = true
    }

    public mutating func beginEpisode(user: Int64) {}
    public mutating func reward(for item: Int) -> Double {
        let c = assignment[item]
        counts[c] += 1
        return 1 / Double(counts[c]).squareRoot()
    }
    public func checkpointTensors() -> [String: StoredTensor] { ["counts": StoredTensor(shape: [counts.count], floats: counts)] }
    public mutating func restore(from tensors: [String: StoredTensor], file: String) throws {
        guard let t = tensors["counts"], let v = t.floats else { throw CheckpointError.missingTensor(file: file, tensor: "reward.counts") }
        guard v.count == counts.count else { throw CheckpointError.shapeMismatch(file: file, tensor: "reward.counts", expected: [counts.count], found: t.shape) }
        counts = v
    }
}

/// Lloyd's k-means on rows, seeded initial centres; ties go to the lower cluster index.
enum KMeans {
    static func assign(_ x: Matrix, k: Int, iterations: Int, seed: UInt64) -> [Int] {
        let n = x.rows, d = x.cols
        let k = max(1, min(k, n))
        var g = SeededGenerator(seed: seed).fork("kmeans")
        var order = Array(0..<n)
        order.shuffle(using: &g)
        var centres = Matrix(rows: k, cols: d, storage: order.prefix(k).flatMap { x.row($0) })
        var assignment = [Int](repeating: 0, count: n)
        for _ in 0..<iterations {
            let scores = Kernels.gemm(x, centres, transposeB: true)  // n × k dot products
            var norms = [Float](repeating: 0, count: k)
            for c in 0..<k { for j in 0..<d { norms[c] += centres[c, j] * centres[c, j] } }
            for i in 0..<n {
                var best = 0, bestD = Float.infinity
                for c in 0..<k {
                    let dist = norms[c] - 2 * scores[i, c]
                    if dist < bestD { bestD = dist; best = c }
                }
                assignment[i] = best
            }
            var sums = Matrix(rows: k, cols: d)
            var sizes = [Int](repeating: 0, count: k)
            for i in 0..<n { sizes[assignment[i]] += 1; for j in 0..<d { sums.storage[assignment[i] * d + j] += x[i, j] } }
            for c in 0..<k where sizes[c] > 0 { for j in 0..<d { centres.storage[c * d + j] = sums[c, j] / Float(sizes[c]) } }
        }
        return assignment
    }
}

/// Random network distillation (Burda et al. 2019) on item embeddings: the reward is the
/// predictor's squared error against a fixed random target network, divided by a running
/// standard deviation of past rewards; the predictor learns online with Adam on every item shown.
public struct RNDReward: AgentReward {
    public let embeddings: Matrix
    public let target: MLP
    public let predictor: MLP
    public let targetParameters: ParameterSet
    public private(set) var predictorParameters: ParameterSet
    public private(set) var optimizer: Adam
    /// Welford statistics of raw rewards (count, mean, M2).
    public private(set) var stats: [Double] = [0, 0, 0]
    public var name: String { "rnd" }

    public init(embeddings: Matrix, hidden: Int = 128, output: Int = 64, learningRate: Float = 1e-3, seed: UInt64) {
        self.embeddings = embeddings
        let root = SeededGenerator(seed: seed).fork("rnd")
        var gt = root.fork("target"), gp = root.fork("predictor")
        var tp = ParameterSet(), pp = ParameterSet()
        target = MLP(name: "target", sizes: [embeddings.cols, hidden, output], parameters: &tp, rng: &gt)
        predictor = MLP(name: "predictor", sizes: [embeddings.cols, hidden, output], parameters: &pp, rng: &gp)
        targetParameters = tp
        predictorParameters = pp
        optimizer = Adam(parameterCount: pp.count, learningRate: learningRate)
    }

    public mutating func beginEpisode(user: Int64) {}

    public mutating func reward(for item: Int) -> Double {
        let x = embeddings.row(item)
        let t = target(x, batch: 1, parameters: targetParameters)
        let trace = predictor.forward(x, batch: 1, parameters: predictorParameters)
        var err = 0.0
        var grad = [Float](repeating: 0, count: t.count)
        for j in t.indices {
            let d = trace.output[j] - t[j]
            err += Double(d * d)
            grad[j] = 2 * d / Float(t.count)
        }
        err /= Double(t.count)
        predictorParameters.zeroGradients()
        predictor.backward(trace, outputGradient: grad, parameters: &predictorParameters)
        optimizer.update(&predictorParameters)
        // Normalise by the running std of raw rewards (Welford), as RND normalises intrinsic returns.
        stats[0] += 1
        let delta = err - stats[1]
        stats[1] += delta / stats[0]
        stats[2] += delta * (err - stats[1])
        let sd = stats[0] > 1 ? (stats[2] / (stats[0] - 1)).squareRoot() : 1
        return err / max(sd, 1e-8)
    }

    public func checkpointTensors() -> [String: StoredTensor] {
        var out = predictorParameters.storedTensors(prefix: "predictor.")
        out["adam.m"] = StoredTensor(shape: [optimizer.firstMoment.count], floats: optimizer.firstMoment)
        out["adam.v"] = StoredTensor(shape: [optimizer.secondMoment.count], floats: optimizer.secondMoment)
        // Doubles split into two floats would lose nothing but clarity: store them as text-free F32 pairs.
        out["stats"] = StoredTensor(shape: [6], floats: stats.flatMap { d -> [Float] in
            let bits = d.bitPattern
            return [Float(bitPattern: UInt32(truncatingIfNeeded: bits >> 32)), Float(bitPattern: UInt32(truncatingIfNeeded: bits))]
        })
        out["adam.step"] = StoredTensor(shape: [1], ints: [Int32(optimizer.step)])
        return out
    }

    public mutating func restore(from tensors: [String: StoredTensor], file: String) throws {
        try predictorParameters.load(from: tensors.filter { $0.key.hasPrefix("predictor.") }, prefix: "predictor.", file: file)
        guard let m = tensors["adam.m"]?.floats, let v = tensors["adam.v"]?.floats, m.count == predictorParameters.count,
              v.count == predictorParameters.count, let step = tensors["adam.step"]?.ints?.first,
              let s = tensors["stats"]?.floats, s.count == 6 else {
            throw CheckpointError.missingTensor(file: file, tensor: "reward.adam.* / reward.stats (RND state)")
        }
        optimizer.restore(step: Int(step), firstMoment: m, secondMoment: v)
        stats = (0..<3).map { k in Double(bitPattern: UInt64(s[2 * k].bitPattern) << 32 | UInt64(s[2 * k + 1].bitPattern)) }
    }
}

/// Σ wₖ·rₖ over component rewards.
public struct WeightedReward: AgentReward {
    public var components: [any AgentReward]
    public let weights: [Double]
    public init(_ terms: [(weight: Double, reward: any AgentReward)]) {
        components = terms.map(\.reward)
        weights = terms.map(\.weight)
    }
    public var name: String { zip(weights, components).map { "\($0)*\($1.name)" }.joined(separator: "+") }
    public mutating func beginEpisode(user: Int64) { for k in components.indices { components[k].beginEpisode(user: user) } }
    public mutating func reward(for item: Int) -> Double {
        var total = 0.0
        for k in components.indices { total += weights[k] * components[k].reward(for: item) }
        return total
    }
    public var achievedThisEpisode: Int { components.reduce(0) { $0 + $1.achievedThisEpisode } }
    public func checkpointTensors() -> [String: StoredTensor] {
        var out: [String: StoredTensor] = [:]
        for (k, c) in components.enumerated() { for (n, t) in c.checkpointTensors() { out["\(k).\(n)"] = t } }
        return out
    }
    public mutating func restore(from tensors: [String: StoredTensor], file: String) throws {
        for k in components.indices {
            let p = "\(k)."
            var sub: [String: StoredTensor] = [:]
            for (n, t) in tensors where n.hasPrefix(p) { sub[String(n.dropFirst(p.count))] = t }
            try components[k].restore(from: sub, file: file)
        }
    }
}

/// Parsed `--reward` value: a name or a weighted sum such as `ellm+0.5*count-novelty`.
public struct RewardSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let names = ["extrinsic", "extrinsic-signed", "ellm", "ellm-novelty", "apt", "count-novelty", "count-novelty-cluster", "rnd"]
    /// Old names still accepted, and what they now mean: the count-based reward was called
    /// `novelty` before it was told apart from ELLM's goal-novelty baseline.
    public static let deprecatedAliases = ["novelty": "count-novelty", "novelty-cluster": "count-novelty-cluster"]

    /// One line per deprecated name in a `--reward` text, for the command line to print.
    public static func deprecationNotes(_ text: String) -> [String] {
        text.split(separator: "+").compactMap { part -> String? in
            let name = part.split(separator: "*").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return deprecatedAliases[name].map { "note: reward '\(name)' is now called '\($0)' (count-based, not ELLM's goal novelty); the old name is deprecated" }
        }
    }
    public var terms: [Term]
    public struct Term: Sendable, Hashable, Codable { public var weight: Double; public var name: String }

    public init(parsing text: String) throws {
        var terms: [Term] = []
        for part in text.split(separator: "+") {
            let p = part.trimmingCharacters(in: .whitespaces)
            var weight = 1.0, name = p
            if let star = p.firstIndex(of: "*") {
                guard let w = Double(p[..<star]) else { throw AgentError.impossible("reward term '\(p)': weight is not a number") }
                weight = w
                name = String(p[p.index(after: star)...])
            }
            if name == "ellm-goal" { name = "ellm" }
            name = RewardSpec.deprecatedAliases[name] ?? name
            guard RewardSpec.names.contains(name) else {
                throw AgentError.impossible("unknown reward '\(name)'; known: \(RewardSpec.names.joined(separator: ", ")), ellm-goal, or weighted sums like ellm+0.5*count-novelty")
            }
            terms.append(Term(weight: weight, name: name))
        }
        guard !terms.isEmpty else { throw AgentError.impossible("empty reward specification") }
        self.terms = terms
    }

    public var description: String { terms.map { $0.weight == 1 ? $0.name : "\($0.weight)*\($0.name)" }.joined(separator: "+") }
    public var usesRatings: Bool { terms.contains { $0.name.hasPrefix("extrinsic") } }
    public var usesRationales: Bool { terms.contains { $0.name == "ellm" || $0.name == "ellm-novelty" } }

    /// Builds the reward. `seed` seeds RND and clustering; `metric` is the ELLM term's distance.
    public func make(simulator: UserSimulator, seed: UInt64, ellm: ELLMRewardConfiguration = .init(),
                     metric: any DescriptionDistance = SBERTCosine()) throws -> any AgentReward {
        let d = simulator.dataset
        func one(_ name: String) throws -> any AgentReward {
            switch name {
            case "extrinsic": return ExtrinsicReward(simulator: simulator)
            case "extrinsic-signed": return ExtrinsicReward(simulator: simulator, signed: true)
            case "ellm": return try ELLMAgentReward.make(dataset: d, configuration: ellm, seed: seed, metric: metric)
            // The old names: configurations stored before the rename decode with them.
            case "count-novelty", "novelty": return NoveltyReward(items: d.itemCount)
            case "count-novelty-cluster", "novelty-cluster": return NoveltyReward(embeddings: d.embeddings, clusters: 32, seed: seed)
            case "rnd": return RNDReward(embeddings: d.embeddings, seed: seed)
            case "ellm-novelty": return try ELLMAgentReward.makeGoalNovelty(dataset: d, configuration: ellm, seed: seed, metric: metric)
            case "apt": return APTReward(embeddings: d.embeddings)
            default: throw AgentError.impossible("unknown reward '\(name)'")
            }
        }
        if terms.count == 1 && terms[0].weight == 1 { return try one(terms[0].name) }
        return WeightedReward(try terms.map { (weight: $0.weight, reward: try one($0.name)) })
    }
}
