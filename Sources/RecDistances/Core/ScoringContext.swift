import RecKit
import RecNumerics

/// Everything metrics may use about the catalog, prepared once per run.
public struct ScoringCatalog: Sendable {
    /// Item texts (the ELLM captions), by catalog index.
    public var texts: [String]
    /// L2-normalised sentence embeddings of `texts` (rows), when a metric needs them.
    public var embeddings: Matrix?
    /// The embeddings as the encoder returned them (for the dot-product metric of unnormalised
    /// encoders); the same storage as `embeddings` when the encoder normalises (MiniLM does).
    public var rawEmbeddings: Matrix?
    /// L2-normalised token embeddings of each text, when a metric needs them.
    public var tokenEmbeddings: [Matrix]?
    /// Training interactions per item (for the popularity control).
    public var popularity: [Float]
    /// Lexical statistics of the catalog (document frequencies, lengths) for TF-IDF and BM25.
    public var lexicon: Lexicon

    public var count: Int { texts.count }

    /// - Parameters:
    ///   - embeddingsAreNormalized: `embeddings` already went through `normalizeIfUnit` (unit rows
    ///     from an encoder that normalises): taken as they are, also as the raw embeddings.
    ///   - tokenEmbeddingsAreNormalized: `tokenEmbeddings` already went through
    ///     `normalizeSharingStorage`: taken as they are.
    ///   Callers that normalise their own (uniquely held) matrices in place this way hold them
    ///   once instead of twice while the catalog is built (1.4 GB of token states at 20k items).
    public init(texts: [String], embeddings: Matrix? = nil, tokenEmbeddings: [Matrix]? = nil, popularity: [Float]? = nil,
                embeddingsAreNormalized: Bool = false, tokenEmbeddingsAreNormalized: Bool = false) {
        self.texts = texts
        if embeddingsAreNormalized {
            (self.embeddings, self.rawEmbeddings) = (embeddings, embeddings)
        } else {
            (self.embeddings, self.rawEmbeddings) = ScoringCatalog.normalizedAndRaw(embeddings)
        }
        self.tokenEmbeddings = tokenEmbeddingsAreNormalized ? tokenEmbeddings : tokenEmbeddings.map(ScoringCatalog.normalizedSharingStorage)
        self.popularity = popularity ?? [Float](repeating: 0, count: texts.count)
        self.lexicon = Lexicon(documents: texts)
    }

    /// Normalises `m`'s rows in place when every row is already unit within 1e-6 (the encoder
    /// normalises) and says whether it did; the result is bit for bit what `init` would compute.
    /// Otherwise `m` is left alone and the catalog keeps the raw rows beside the unit ones.
    public static func normalizeIfUnit(_ m: inout Matrix) -> Bool {
        guard rowsAreUnit(m) else { return false }
        Kernels.l2NormalizeRows(&m)
        return true
    }

    /// Normalises every matrix's rows in place; elements sharing storage are normalised once and
    /// share the result (bit for bit what `init` computes with `normalizedSharingStorage`).
    public static func normalizeSharingStorage(_ ms: inout [Matrix]) {
        var done: [StorageIdentity: Int] = [:]
        for i in ms.indices {
            // The identity of the element's original buffer, before any normalisation replaces it;
            // every original buffer stays alive (in `ms`) until its turn, so addresses are unique.
            guard let id = StorageIdentity(ms[i]) else { Kernels.l2NormalizeRows(&ms[i]); continue }
            if let k = done[id] { ms[i] = ms[k]; continue }
            done[id] = i
            Kernels.l2NormalizeRows(&ms[i])
        }
    }

    static func rowsAreUnit(_ m: Matrix) -> Bool {
        m.storage.withUnsafeBufferPointer { p in
            for r in 0..<m.rows {
                var ss = 0.0
                for c in 0..<m.cols { let x = Double(p[r * m.cols + c]); ss += x * x }
                if abs(ss.squareRoot() - 1) > 1e-6 { return false }
            }
            return true
        }
    }

    static func normalized(_ m: Matrix) -> Matrix {
        var c = m
        Kernels.l2NormalizeRows(&c)
        return c
    }

    /// Unit rows of `m`, and the matrix that stands for the encoder's own output. When the encoder
    /// already normalises (every row's norm within 1e-6 of 1, as MiniLM's), the unit rows stand in
    /// for both, so the rows are held once: at 100k users × 5 rationales that is 768 MB less, and
    /// the dot-product metric equals the cosine, as it does for such encoders anyway.
    static func normalizedAndRaw(_ m: Matrix?) -> (normalized: Matrix?, raw: Matrix?) {
        guard let m else { return (nil, nil) }
        let unit = normalized(m)
        return (unit, rowsAreUnit(m) ? unit : m)
    }

    /// Each matrix with unit rows; matrices that share storage (one text repeated, as the cache
    /// returns repeats) are normalised once and share the result. Copying every element instead
    /// multiplied the aspect reasoner's few hundred distinct rationales by their 500k occurrences
    /// at 100k users (7 GB of token states). Storage identity is the buffer's address, stable
    /// while `ms` holds every buffer.
    static func normalizedSharingStorage(_ ms: [Matrix]) -> [Matrix] {
        var done: [StorageIdentity: Int] = [:]
        var out: [Matrix] = []
        out.reserveCapacity(ms.count)
        for m in ms {
            guard let id = StorageIdentity(m) else { out.append(normalized(m)); continue }
            if let k = done[id] { out.append(out[k]) } else { done[id] = out.count; out.append(normalized(m)) }
        }
        return out
    }
}

/// A matrix's buffer address and shape: equal for matrices that share storage (while alive).
struct StorageIdentity: Hashable {
    let base: UnsafeRawPointer
    let rows: Int
    let cols: Int
    init?(_ m: Matrix) {
        guard let b = m.storage.withUnsafeBufferPointer({ $0.baseAddress.map(UnsafeRawPointer.init) }) else { return nil }
        base = b; rows = m.rows; cols = m.cols
    }
}

/// All users' rationales, flattened, with the same prepared representations as the catalog.
public struct RationaleSet: Sendable {
    public var texts: [String]
    public var embeddings: Matrix?
    public var rawEmbeddings: Matrix?
    public var tokenEmbeddings: [Matrix]?

    /// The flags mean what they mean for `ScoringCatalog.init`.
    public init(texts: [String], embeddings: Matrix? = nil, tokenEmbeddings: [Matrix]? = nil,
                embeddingsAreNormalized: Bool = false, tokenEmbeddingsAreNormalized: Bool = false) {
        self.texts = texts
        if embeddingsAreNormalized {
            (self.embeddings, self.rawEmbeddings) = (embeddings, embeddings)
        } else {
            (self.embeddings, self.rawEmbeddings) = ScoringCatalog.normalizedAndRaw(embeddings)
        }
        self.tokenEmbeddings = tokenEmbeddingsAreNormalized ? tokenEmbeddings : tokenEmbeddings.map(ScoringCatalog.normalizedSharingStorage)
    }
}

/// One user, as metrics see them.
public struct UserQuery: Sendable, Hashable {
    public var userID: Int64
    /// Indices into `RationaleSet` of this user's rationales.
    public var rationales: Range<Int>
    /// Catalog indices of the user's liked training items (for the centroid control).
    public var likedItems: [Int]
    /// Catalog indices of the user's training items rated below the like threshold: with
    /// `likedItems`, the training labels a learned metric may fit (never a held-out rating).
    public var dislikedItems: [Int]

    public init(userID: Int64, rationales: Range<Int>, likedItems: [Int], dislikedItems: [Int] = []) {
        self.userID = userID
        self.rationales = rationales
        self.likedItems = likedItems
        self.dislikedItems = dislikedItems
    }
}

/// The inputs of a scoring run.
public struct ScoringContext: Sendable {
    public var catalog: ScoringCatalog
    public var rationales: RationaleSet
    /// Seed for the metrics that draw random numbers (the random control).
    public var seed: UInt64
    /// The users being scored, with their training labels: what metrics that learn or calibrate
    /// from users (`learned-bilinear`) may fit. Built from the training part of the split only.
    public var users: [UserQuery]

    public init(catalog: ScoringCatalog, rationales: RationaleSet, seed: UInt64 = 1, users: [UserQuery] = []) {
        self.catalog = catalog
        self.rationales = rationales
        self.seed = seed
        self.users = users
    }

    /// Rows `items` of the catalog embeddings, gathered into one matrix.
    func itemEmbeddings(_ items: [Int], metric: String) -> Matrix {
        guard let e = catalog.embeddings else { preconditionFailure(MetricError.missingInput(metric: metric, what: "item embeddings").description) }
        return gather(e, items)
    }

    func rationaleEmbeddings(_ range: Range<Int>, metric: String) -> Matrix {
        guard let e = rationales.embeddings else { preconditionFailure(MetricError.missingInput(metric: metric, what: "rationale embeddings").description) }
        return e.rows(range)
    }

    /// Checks that the representations a metric needs were prepared.
    public func check(_ metric: any DescriptionDistance) throws {
        if metric.needs.contains(.sentenceEmbeddings) {
            if catalog.embeddings == nil { throw MetricError.missingInput(metric: metric.name, what: "item sentence embeddings") }
            if metric.usesRationales && rationales.embeddings == nil { throw MetricError.missingInput(metric: metric.name, what: "rationale sentence embeddings") }
        }
        if metric.needs.contains(.tokenEmbeddings) {
            if catalog.tokenEmbeddings == nil { throw MetricError.missingInput(metric: metric.name, what: "item token embeddings") }
            if rationales.tokenEmbeddings == nil { throw MetricError.missingInput(metric: metric.name, what: "rationale token embeddings") }
        }
    }
}

/// Rows of `m` at `indices`.
func gather(_ m: Matrix, _ indices: [Int]) -> Matrix {
    var out = Matrix(rows: indices.count, cols: m.cols)
    let d = m.cols
    m.storage.withUnsafeBufferPointer { src in
        out.storage.withUnsafeMutableBufferPointer { dst in
            for (r, i) in indices.enumerated() {
                (dst.baseAddress! + r * d).update(from: src.baseAddress! + i * d, count: d)
            }
        }
    }
    return out
}

/// The distinct rows of `m` (in first-seen order) and, for every row, its distinct row's index.
func distinctRows(_ m: Matrix) -> (distinct: Matrix, indexOf: [Int]) {
    var seen: [[Float]: Int] = [:], firsts: [Int] = [], indexOf: [Int] = []
    indexOf.reserveCapacity(m.rows)
    for r in 0..<m.rows {
        let row = m.row(r)
        if let k = seen[row] { indexOf.append(k) } else { seen[row] = firsts.count; indexOf.append(firsts.count); firsts.append(r) }
    }
    return (gather(m, firsts), indexOf)
}

/// Unit centroid of each list's item embeddings (a zero row for an empty list).
func likedCentroids(_ lists: [[Int]], items: Matrix) -> Matrix {
    var out = Matrix(rows: lists.count, cols: items.cols)
    let d = items.cols
    for (k, list) in lists.enumerated() where !list.isEmpty {
        for i in list { for c in 0..<d { out.storage[k * d + c] += items.storage[i * d + c] } }
    }
    Kernels.l2NormalizeRows(&out)
    return out
}
