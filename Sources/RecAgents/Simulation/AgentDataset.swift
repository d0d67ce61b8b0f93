import Foundation
import RecData
import RecEmbedding
import RecKit
import RecNumerics

/// Why agent data could not be prepared.
public enum AgentError: Error, CustomStringConvertible, Equatable {
    case missingEmbeddings(dataset: String, missing: Int, total: Int)
    case missingRationales(dataset: String, split: String, reasoner: String)
    case impossible(String)
    case emptyActionSet(String)
    /// Training produced a value that is not a finite number (NaN or ±∞); the message names where.
    case nonFinite(String)

    public var description: String {
        switch self {
        case let .missingEmbeddings(d, m, t):
            return "dataset '\(d)' has no cached embeddings for \(m) of \(t) item texts; create them with `rec-data embed --dataset \(d)`"
        case let .missingRationales(d, s, r):
            return "dataset '\(d)' has no rationales for split '\(s)' (reasoner '\(r)'); create them with `rec-data rationales --dataset \(d) --split \(s) --reasoner \(r)`"
        case .impossible(let m): return "impossible hyperparameters: \(m)"
        case .emptyActionSet(let m): return "empty action set: \(m)"
        case .nonFinite(let m): return "training diverged: \(m)"
        }
    }
}

/// One simulated user: training history and the ratings the simulator can answer with.
public struct AgentUser: Sendable, Hashable {
    public var id: Int64
    /// The dataset's own user id (the store id as text where none was given).
    public var externalID: String
    /// Catalog indices of training-part items, oldest first (the episode's starting history).
    public var history: [Int]
    /// Training ratings by catalog index.
    public var trainRatings: [Int: Double]
    /// Validation and test ratings by catalog index: the "held-out rating where one exists".
    public var heldOut: [Int: Double]
    /// Test-part ratings only (the ranking metrics' ground truth).
    public var test: [Int: Double]
    /// Validation-part ratings: the held-out ratings that are not test ratings.
    public var validation: [Int: Double] { heldOut.filter { test[$0.key] == nil } }
    public init(id: Int64, externalID: String? = nil, history: [Int], trainRatings: [Int: Double], heldOut: [Int: Double], test: [Int: Double]) {
        self.id = id; self.externalID = externalID ?? String(id); self.history = history; self.trainRatings = trainRatings; self.heldOut = heldOut; self.test = test
    }
}

/// Everything the simulator, rewards and agents read, loaded once from the ratings store.
public struct AgentDataset: Sendable {
    public var name: String
    public var split: String
    public var scale: RatingScale
    public var itemIDs: [Int64]
    public var itemTexts: [String]
    /// Item fields (used by the synthetic world's true model).
    public var itemFields: [ItemFields]
    /// L2-normalised item text embeddings, one row per catalog item.
    public var embeddings: Matrix
    /// Training interactions per item.
    public var popularity: [Int]
    public var users: [AgentUser]
    /// Latent tastes by user index, on synthetic worlds (the true model answers).
    public var tastes: [Int: SyntheticTaste]
    /// Each user's rationales (by user index; empty when none).
    public var rationales: [[String]]
    /// L2-normalised embeddings of all rationales, flattened in user order; rows `rationaleRanges[u]`.
    public var rationaleEmbeddings: Matrix?
    public var rationaleRanges: [Range<Int>]
    /// Name of the encoder that produced the embeddings (recorded in run configurations).
    public var encoderID: String

    public var itemCount: Int { itemIDs.count }
    public var dimension: Int { embeddings.cols }
    public var isSynthetic: Bool { !tastes.isEmpty }

    public init(name: String, split: String, scale: RatingScale, itemIDs: [Int64], itemTexts: [String], itemFields: [ItemFields],
                embeddings: Matrix, popularity: [Int], users: [AgentUser], tastes: [Int: SyntheticTaste],
                rationales: [[String]], rationaleEmbeddings: Matrix?, encoderID: String) {
        self.name = name; self.split = split; self.scale = scale; self.itemIDs = itemIDs; self.itemTexts = itemTexts
        self.itemFields = itemFields
        var e = embeddings
        Kernels.l2NormalizeRows(&e)
        self.embeddings = e
        self.popularity = popularity; self.users = users; self.tastes = tastes; self.rationales = rationales
        var ranges: [Range<Int>] = []
        var start = 0
        for r in rationales { ranges.append(start..<(start + r.count)); start += r.count }
        rationaleRanges = ranges
        if var re = rationaleEmbeddings {
            precondition(re.rows == start, "rationale embeddings: \(re.rows) rows for \(start) rationales")
            Kernels.l2NormalizeRows(&re)
            self.rationaleEmbeddings = re
        } else {
            self.rationaleEmbeddings = nil
        }
        self.encoderID = encoderID
    }

    /// Mean of a user's rationale embeddings, re-normalised (zeros when the user has none): the
    /// goal vector of the goal-conditioned agent.
    ///
    /// `achieved` masks rationales out as ELLM re-encodes only the suggestions not yet achieved:
    /// bit j set leaves out the user's j-th rationale (j < 32; later ones are never left out).
    /// With every rationale achieved the goal is the zero vector.
    public func goalVector(user: Int, achieved: UInt32 = 0) -> [Float] {
        var g = [Float](repeating: 0, count: dimension)
        guard let re = rationaleEmbeddings, !rationaleRanges[user].isEmpty else { return g }
        for (j, r) in rationaleRanges[user].enumerated() where j >= 32 || achieved & (1 << UInt32(j)) == 0 {
            for c in 0..<dimension { g[c] += re[r, c] }
        }
        let n = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if n > 0 { for j in 0..<dimension { g[j] /= n } }
        return g
    }

    /// Loads a dataset and split from the store. Item embeddings must already be cached for
    /// `encoder` (`rec-data embed`); rationales (internal user id → texts) are embedded through
    /// the cache. Pass `allowEncoding` to embed missing item texts instead of failing.
    public static func load(store: RatingStore, dataset name: String, split: String, encoder: any SentenceEncoder,
                            rationales: [Int64: [String]], allowEncoding: Bool = false, showProgress: Bool = true) throws -> AgentDataset {
        let info = try store.dataset(named: name)
        let items = try store.items(dataset: info)
        guard !items.isEmpty else { throw AgentError.emptyActionSet("dataset '\(name)' has no items") }
        let cache = try EmbeddingCache(store: store)
        let texts = items.map(\.text)
        let embeddings: Matrix
        if allowEncoding {
            embeddings = try cache.embed(texts, encoder: encoder, progress: ProgressReporter(label: "item embeddings", unit: "texts", enabled: showProgress ? nil : false))
        } else {
            let found = try cache.lookup(modelID: encoder.modelID, dimension: encoder.dimension, texts: texts)
            let missing = found.filter { $0 == nil }.count
            guard missing == 0 else { throw AgentError.missingEmbeddings(dataset: name, missing: missing, total: texts.count) }
            embeddings = Matrix(rows: texts.count, cols: encoder.dimension, storage: found.flatMap { $0! })
        }
        let index = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($0.element.id, $0.offset) })
        let storeUsers = try store.users(dataset: info)
        let userIndex = Dictionary(uniqueKeysWithValues: storeUsers.enumerated().map { ($0.element.id, $0.offset) })
        var users = storeUsers.map { AgentUser(id: $0.id, externalID: $0.externalID, history: [], trainRatings: [:], heldOut: [:], test: [:]) }
        var popularity = [Int](repeating: 0, count: items.count)
        for part in SplitPart.allCases {
            for r in try store.ratings(dataset: info, split: split, part: part) {
                guard let i = index[r.itemID], let u = userIndex[r.userID] else { continue }
                switch part {
                case .train:
                    users[u].history.append(i)
                    users[u].trainRatings[i] = r.value
                    popularity[i] += 1
                case .valid: users[u].heldOut[i] = r.value
                case .test: users[u].heldOut[i] = r.value; users[u].test[i] = r.value
                }
            }
        }
        let tastesByID = try store.syntheticTastes(dataset: info)
        var tastes: [Int: SyntheticTaste] = [:]
        for (id, t) in tastesByID { if let u = userIndex[id] { tastes[u] = t } }
        let userRationales = users.map { rationales[$0.id] ?? [] }
        let flat = userRationales.flatMap { $0 }
        var ratEmb: Matrix?
        if !flat.isEmpty {
            ratEmb = try cache.embed(flat, encoder: encoder, progress: ProgressReporter(label: "rationale embeddings", unit: "texts", enabled: showProgress ? nil : false))
        }
        return AgentDataset(name: name, split: split, scale: info.scale, itemIDs: items.map(\.id), itemTexts: texts,
                            itemFields: items.map(\.fields), embeddings: embeddings, popularity: popularity, users: users,
                            tastes: tastes, rationales: userRationales, rationaleEmbeddings: ratEmb, encoderID: encoder.modelID)
    }
}

/// A deterministic bag-of-words encoder (feature hashing of lower-cased words and word bigrams),
/// L2-normalised. No model files: used by tests and quick synthetic-world runs (`--encoder hashing`),
/// where item texts are generated from attributes and words carry the signal.
public struct HashingEncoder: SentenceEncoder {
    public let dimension: Int
    public init(dimension: Int = 128) { self.dimension = dimension }
    public var modelID: String { "hashing-bow-\(dimension)" }

    public func encode(_ texts: [String], batchSize: Int) throws -> Matrix {
        var m = Matrix(rows: texts.count, cols: dimension)
        for (r, t) in texts.enumerated() {
            let words = t.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
            var prev: String?
            for w in words {
                add(w, row: r, into: &m)
                if let p = prev { add(p + " " + w, row: r, into: &m, weight: 0.5) }
                prev = w
            }
        }
        Kernels.l2NormalizeRows(&m)
        return m
    }

    private func add(_ token: String, row: Int, into m: inout Matrix, weight: Float = 1) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in token.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let j = Int(h % UInt64(dimension))
        let sign: Float = (h >> 40) & 1 == 0 ? 1 : -1
        m.storage[row * dimension + j] += sign * weight
    }
}
