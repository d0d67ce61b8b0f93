import Foundation
import RecKit
import RecNN

/// BPR-MF (Rendle et al. 2009) trained and evaluated the way RecBole does on its ml-100k benchmark,
/// so its figure can be set beside RecBole's published one (NDCG@10 0.2768, Hit@10 0.7614 for
/// random 8:1:1 splits, full ranking).
///
/// Every training rating is an implicit positive. Each epoch visits the positives in a seeded
/// random order, in batches; each positive (u, i) is paired with one item j drawn uniformly among
/// the items u has no training rating for, and the loss is −log σ(x_ui − x_uj), x = ⟨U_u, V_i⟩, with
/// no penalty (RecBole's BPR has none). Embeddings start Xavier-normal; Adam (RecNN's, PyTorch's
/// formula) updates every parameter after each batch, as PyTorch's dense Adam does. Training
/// stops when validation NDCG@10 has not improved for `patience` epochs and keeps the best
/// epoch's embeddings.
public struct BPRMF: Sendable {
    public struct Configuration: Sendable, Codable, Hashable {
        public var dimension = 64
        public var learningRate = 1e-3
        public var batchSize = 2048
        public var maxEpochs = 300
        public var patience = 10
        public var seed: UInt64 = 1
        public init() {}

        public func validate() throws {
            var problems: [String] = []
            if dimension < 1 { problems.append("dimension must be ≥ 1 (is \(dimension))") }
            if !(learningRate.isFinite && learningRate > 0) { problems.append("learning rate must be a finite number > 0 (is \(learningRate))") }
            if batchSize < 1 { problems.append("batch size must be ≥ 1 (is \(batchSize))") }
            if maxEpochs < 1 { problems.append("epochs must be ≥ 1 (is \(maxEpochs))") }
            if patience < 1 { problems.append("patience must be ≥ 1 (is \(patience))") }
            guard problems.isEmpty else { throw AgentError.impossible(problems.joined(separator: "; ")) }
        }
    }

    public let configuration: Configuration
    /// Users × d and items × d, row-major.
    public private(set) var users: [Float]
    public private(set) var items: [Float]
    public let userCount: Int
    public let itemCount: Int
    /// Validation NDCG@10 after each epoch, and the epoch kept.
    public private(set) var validationCurve: [Double] = []
    public private(set) var bestEpoch = 0

    /// Trains on `dataset`'s training ratings, early-stopping on its validation ratings.
    public init(dataset: AgentDataset, configuration: Configuration = .init()) throws {
        try configuration.validate()
        self.configuration = configuration
        userCount = dataset.users.count
        itemCount = dataset.itemCount
        let d = configuration.dimension
        var g = SeededGenerator(seed: configuration.seed).fork("bpr-mf")
        func xavier(_ rows: Int) -> [Float] {
            let std = (2.0 / Double(rows + d)).squareRoot()
            return (0..<(rows * d)).map { _ in Float(g.nextGaussian() * std) }
        }
        users = xavier(userCount)
        items = xavier(itemCount)
        try train(dataset: dataset, generator: &g)
    }

    /// ⟨U_u, V_i⟩ for every item: the full-ranking scores of user `u`.
    public func scores(user u: Int) -> [Float] {
        let d = configuration.dimension
        return (0..<itemCount).map { i in
            var s: Float = 0
            for k in 0..<d { s += users[u * d + k] * items[i * d + k] }
            return s
        }
    }

    private mutating func train(dataset: AgentDataset, generator g: inout SeededGenerator) throws {
        let c = configuration, d = c.dimension
        let positives: [(u: Int, i: Int)] = dataset.users.enumerated().flatMap { (u, user) in
            user.trainRatings.keys.sorted().map { (u: u, i: $0) }
        }
        guard !positives.isEmpty else { throw AgentError.impossible("BPR-MF needs training ratings; the split's training part is empty") }
        let seen = dataset.users.map { Set($0.trainRatings.keys) }
        var adamU = Adam(parameterCount: users.count, learningRate: Float(c.learningRate))
        var adamV = Adam(parameterCount: items.count, learningRate: Float(c.learningRate))
        var best = -Double.infinity, bestUsers = users, bestItems = items, stale = 0
        var order = Array(positives.indices)
        for epoch in 1...c.maxEpochs {
            order.shuffle(using: &g)
            var start = 0
            while start < order.count {
                let batch = order[start..<min(start + c.batchSize, order.count)]
                var gU = [Float](repeating: 0, count: users.count), gV = [Float](repeating: 0, count: items.count)
                let scale = 1 / Float(batch.count)
                for k in batch {
                    let (u, i) = positives[k]
                    var j = g.nextIndex(itemCount)
                    while seen[u].contains(j) { j = g.nextIndex(itemCount) }
                    var diff: Float = 0
                    for t in 0..<d { diff += users[u * d + t] * (items[i * d + t] - items[j * d + t]) }
                    // d/dx of −log σ(x) is −σ(−x).
                    let coef = -scale / (1 + expf(diff))
                    for t in 0..<d {
                        let pu = users[u * d + t]
                        gU[u * d + t] += coef * (items[i * d + t] - items[j * d + t])
                        gV[i * d + t] += coef * pu
                        gV[j * d + t] -= coef * pu
                    }
                }
                adamU.update(&users, gradients: gU)
                adamV.update(&items, gradients: gV)
                start += c.batchSize
            }
            let ndcg = FullRankingEvaluation.evaluate(self, dataset: dataset, part: .validation).ndcg
            guard ndcg.isFinite else { throw AgentError.nonFinite("BPR-MF validation NDCG is not finite at epoch \(epoch)") }
            validationCurve.append(ndcg)
            if ndcg > best { best = ndcg; bestUsers = users; bestItems = items; bestEpoch = epoch; stale = 0 } else {
                stale += 1
                if stale >= c.patience { break }
            }
        }
        users = bestUsers
        items = bestItems
    }
}

/// Full-ranking top-k evaluation in RecBole's protocol: every item the user has no training
/// rating for is ranked (for the test part, validation items are masked too); a held-out item is
/// relevant; users without held-out items in the part are skipped. Ranking, NDCG@k and Hit@k are
/// `TopK`'s, the same the DQN evaluation uses.
public enum FullRankingEvaluation {
    public enum Part: String, Sendable, Codable { case validation, test }

    public struct UserRow: Sendable, Codable, Hashable {
        public var userID: Int64
        public var relevant: Int
        public var ndcg: Double
        public var hit: Double
    }

    public struct Result: Sendable, Codable {
        public var k: Int
        public var part: Part
        public var ndcg: Double
        public var hit: Double
        public var rows: [UserRow]
    }

    public static func evaluate(_ model: BPRMF, dataset: AgentDataset, part: Part, k: Int = 10) -> Result {
        evaluate(scores: { model.scores(user: $0) }, dataset: dataset, part: part, k: k)
    }

    /// `scores(u)` gives user index u's score for every catalog item.
    public static func evaluate(scores: (Int) -> [Float], dataset: AgentDataset, part: Part, k: Int = 10) -> Result {
        var rows: [UserRow] = []
        for (u, user) in dataset.users.enumerated() {
            let validation = Array(user.validation.keys)
            let relevant = Set(part == .test ? Array(user.test.keys) : validation)
            guard !relevant.isEmpty else { continue }
            var masked = Set(user.trainRatings.keys)
            if part == .test { masked.formUnion(validation) }
            let ranked = TopK.rank(scores(u), excluding: masked, k: k)
            rows.append(UserRow(userID: user.id, relevant: relevant.count, ndcg: TopK.ndcg(ranked, relevant: relevant, k: k),
                                hit: TopK.hit(ranked, relevant: relevant)))
        }
        let n = Double(max(rows.count, 1))
        return Result(k: k, part: part, ndcg: rows.reduce(0) { $0 + $1.ndcg } / n, hit: rows.reduce(0) { $0 + $1.hit } / n, rows: rows)
    }
}
