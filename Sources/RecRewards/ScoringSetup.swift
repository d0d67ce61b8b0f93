import Foundation
import RecData
import RecDistances
import RecEmbedding
import RecKit
import RecNumerics

/// One held-out rating to validate rewards against.
public struct HeldOutPair: Sendable, Hashable {
    public var userID: Int64
    /// Catalog index of the item.
    public var item: Int
    public var rating: Double
    public var timestamp: Int64
}

/// Everything a reward needs, loaded from the ratings store: the catalog with its prepared
/// representations, every user's rationales and liked training items, and the held-out ratings.
///
/// Only the training part of the split feeds popularity, liked items and rationales; the held-out
/// part only supplies the pairs to judge.
public struct ScoringSetup: Sendable {
    public var dataset: DatasetInfo
    public var split: String
    public var context: ScoringContext
    /// Users with at least one rationale, by internal id.
    public var users: [UserQuery]
    /// Held-out ratings of users that have rationales, ordered by user then time.
    public var pairs: [HeldOutPair]
    /// Store ids of the catalog items, by catalog index.
    public var itemIDs: [Int64]
    public var itemExternalIDs: [String]
    public var userExternalIDs: [Int64: String]
    /// Held-out ratings dropped because their user has no rationale.
    public var pairsWithoutRationales: Int
    public var usersWithoutRationales: Int

    /// How the pieces that need a model are produced.
    public struct Encoders: Sendable {
        /// Sentence embeddings (cached in the store).
        public var sentence: (any SentenceEncoder)?
        /// Token-level embeddings (computed per run).
        public var tokens: BERTSentenceEncoder?
        public var batchSize: Int
        public init(sentence: (any SentenceEncoder)?, tokens: BERTSentenceEncoder?, batchSize: Int = 32) {
            self.sentence = sentence
            self.tokens = tokens
            self.batchSize = batchSize
        }
    }

    /// Loads a scoring setup. `rationales` maps internal user ids to their rationale texts;
    /// `needs` says which representations to prepare (the union of the chosen metrics' needs).
    public static func load(store: RatingStore, dataset name: String, split: String, heldOut part: SplitPart = .test,
                            rationales: [Int64: [String]], needs: MetricNeeds, encoders: Encoders,
                            seed: UInt64, showProgress: Bool = true) throws -> ScoringSetup {
        let dataset = try store.dataset(named: name)
        let items = try store.items(dataset: dataset)
        let index = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($0.element.id, $0.offset) })
        let train = try store.ratings(dataset: dataset, split: split, part: .train)
        var popularity = [Float](repeating: 0, count: items.count)
        for r in train { if let i = index[r.itemID] { popularity[i] += 1 } }
        let liked = try store.likedTrainingItems(dataset: dataset, split: split)
        // Training items rated below the like threshold: the negatives a learned metric may fit.
        var disliked: [Int64: [Int]] = [:]
        for r in train where r.value < dataset.scale.likeThreshold {
            if let i = index[r.itemID] { disliked[r.userID, default: []].append(i) }
        }

        // Rationales, flattened in user order.
        var texts: [String] = []
        var users: [UserQuery] = []
        for (user, list) in rationales.sorted(by: { $0.key < $1.key }) where !list.isEmpty {
            let start = texts.count
            texts += list
            users.append(UserQuery(userID: user, rationales: start..<texts.count,
                                   likedItems: (liked[user] ?? []).compactMap { index[$0] },
                                   dislikedItems: disliked[user] ?? []))
        }
        let withRationales = Set(users.map(\.userID))
        var pairs: [HeldOutPair] = []
        var dropped = 0
        var droppedUsers = Set<Int64>()
        for r in try store.ratings(dataset: dataset, split: split, part: part) {
            guard let i = index[r.itemID] else { continue }
            if withRationales.contains(r.userID) {
                pairs.append(HeldOutPair(userID: r.userID, item: i, rating: r.value, timestamp: r.timestamp))
            } else {
                dropped += 1
                droppedUsers.insert(r.userID)
            }
        }

        var itemEmb: Matrix?, ratEmb: Matrix?, itemTok: [Matrix]?, ratTok: [Matrix]?
        let cache = try EmbeddingCache(store: store)
        func progress(_ label: String) -> ProgressReporter {
            ProgressReporter(label: label, unit: "texts", enabled: showProgress ? nil : false)
        }
        if needs.contains(.sentenceEmbeddings) {
            guard let enc = encoders.sentence else { throw MetricError.missingInput(metric: "(sentence metrics)", what: "a sentence encoder") }
            itemEmb = try cache.embed(items.map(\.text), encoder: enc, batchSize: encoders.batchSize, progress: progress("item embeddings"))
            ratEmb = try cache.embed(texts, encoder: enc, batchSize: encoders.batchSize, progress: progress("rationale embeddings"))
        }
        if needs.contains(.tokenEmbeddings) {
            guard let enc = encoders.tokens else { throw MetricError.missingInput(metric: "(token metrics)", what: "a BERT encoder for token embeddings") }
            itemTok = try cache.tokenEmbeddings(items.map(\.text), encoder: enc, batchSize: encoders.batchSize, progress: progress("item token embeddings"))
            ratTok = try cache.tokenEmbeddings(texts, encoder: enc, batchSize: encoders.batchSize, progress: progress("rationale token embeddings"))
        }
        // Normalise in place what this function alone holds, so the catalog and rationale set take
        // the matrices as they are instead of copying them (at 100k users × 20k items the copies
        // doubled ~2 GB of embeddings while the context was built). Same bits as the copies.
        var itemsUnit = false, rationalesUnit = false
        if itemEmb != nil { itemsUnit = ScoringCatalog.normalizeIfUnit(&itemEmb!) }
        if ratEmb != nil { rationalesUnit = ScoringCatalog.normalizeIfUnit(&ratEmb!) }
        if itemTok != nil { ScoringCatalog.normalizeSharingStorage(&itemTok!) }
        if ratTok != nil { ScoringCatalog.normalizeSharingStorage(&ratTok!) }
        let catalog = ScoringCatalog(texts: items.map(\.text), embeddings: itemEmb, tokenEmbeddings: itemTok, popularity: popularity,
                                     embeddingsAreNormalized: itemsUnit, tokenEmbeddingsAreNormalized: true)
        let rationaleSet = RationaleSet(texts: texts, embeddings: ratEmb, tokenEmbeddings: ratTok,
                                        embeddingsAreNormalized: rationalesUnit, tokenEmbeddingsAreNormalized: true)
        itemEmb = nil; ratEmb = nil; itemTok = nil; ratTok = nil  // the context holds the only copies
        let context = ScoringContext(catalog: catalog, rationales: rationaleSet, seed: seed, users: users)
        let externals = Dictionary(uniqueKeysWithValues: try store.users(dataset: dataset).map { ($0.id, $0.externalID) })
        return ScoringSetup(dataset: dataset, split: split, context: context, users: users, pairs: pairs,
                            itemIDs: items.map(\.id), itemExternalIDs: items.map(\.fields.externalID),
                            userExternalIDs: externals, pairsWithoutRationales: dropped, usersWithoutRationales: droppedUsers.count)
    }
}

/// A metric's raw similarity and reward for every held-out pair.
public struct PairScores: Sendable {
    public var metric: String
    /// The metric's combination of the user's rationales' similarities, the max unless the metric
    /// says otherwise (`DescriptionDistance.combinedScore`); the control's score for no-rationale metrics.
    public var score: [Double]
    /// The ELLM reward under the configured threshold (equal to `score` for controls, which have
    /// no threshold).
    public var reward: [Double]
    /// Index of the best rationale within the user's list (nil for controls).
    public var bestRationale: [Int?]
}

extension ScoringSetup {
    /// Scores every held-out pair with a prepared metric: one batched call per user.
    public func score(_ metric: any DescriptionDistance, configuration: ELLMRewardConfiguration,
                      progress: ProgressReporter? = nil) throws -> PairScores {
        try context.check(metric)
        let thresholds = metric.usesRationales
            ? try ResolvedThresholds.resolve(configuration.threshold, metric: metric, context: context, users: users)
            : ResolvedThresholds(values: [])
        let byUser = Dictionary(uniqueKeysWithValues: users.map { ($0.userID, $0) })
        var score = [Double](repeating: 0, count: pairs.count)
        var reward = score
        var best = [Int?](repeating: nil, count: pairs.count)
        var start = 0
        while start < pairs.count {
            var end = start
            while end < pairs.count && pairs[end].userID == pairs[start].userID { end += 1 }
            let u = byUser[pairs[start].userID]!
            let s = metric.similarities(items: pairs[start..<end].map(\.item), user: u, context: context)
            for (row, k) in (start..<end).enumerated() {
                let sims = (0..<s.cols).map { s[row, $0] }
                if metric.usesRationales {
                    let o = ELLMReward.decide(similarities: sims, thresholds: Array(thresholds.values[u.rationales]),
                                              configuration: configuration)
                    score[k] = Double(metric.combinedScore(sims, user: u))
                    reward[k] = o.reward
                    best[k] = o.bestRationale
                } else {
                    score[k] = Double(sims[0])
                    reward[k] = score[k]
                }
            }
            progress?.advance(by: end - start)
            start = end
        }
        return PairScores(metric: metric.name, score: score, reward: reward, bestRationale: best)
    }
}
