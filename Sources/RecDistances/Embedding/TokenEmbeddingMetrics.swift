import RecNumerics

/// Token-level greedy matching over normalised token embeddings, computed for all (item,
/// rationale) pairs of a user with one GEMM over the concatenated tokens.
struct TokenMatching {
    /// For each (item, rationale) pair: precision (item tokens matched in the rationale) and recall
    /// (rationale tokens matched in the item), as BERTScore defines them (no idf weighting).
    static func precisionRecall(items: [Int], user: UserQuery, context: ScoringContext, metric: String)
        -> (precision: Matrix, recall: Matrix) {
        guard let itemTokens = context.catalog.tokenEmbeddings, let ratTokens = context.rationales.tokenEmbeddings else {
            preconditionFailure(MetricError.missingInput(metric: metric, what: "token embeddings").description)
        }
        let rats = Array(user.rationales)
        var P = Matrix(rows: items.count, cols: rats.count), R = Matrix(rows: items.count, cols: rats.count)
        let X = stack(items.map { itemTokens[$0] }), Y = stack(rats.map { ratTokens[$0] })
        guard X.matrix.rows > 0, Y.matrix.rows > 0 else { return (P, R) }
        let S = Kernels.gemm(X.matrix, Y.matrix, transposeB: true)  // item tokens × rationale tokens
        let ny = S.cols
        // Row maxima are contiguous; column maxima are folded in row by row, so both passes run
        // over contiguous memory and vectorise.
        var colMax = [Float](repeating: 0, count: ny)
        S.storage.withUnsafeBufferPointer { s in
            colMax.withUnsafeMutableBufferPointer { cm in
                for i in 0..<items.count {
                    let xr = X.offsets[i]..<X.offsets[i + 1]
                    guard !xr.isEmpty else { continue }
                    // Column maxima over this item's token rows, for every rationale token at once.
                    cm.baseAddress!.update(from: s.baseAddress! + xr.lowerBound * ny, count: ny)
                    for x in xr.dropFirst() {
                        let row = s.baseAddress! + x * ny
                        for y in 0..<ny { cm[y] = max(cm[y], row[y]) }
                    }
                    for j in 0..<rats.count {
                        let yr = Y.offsets[j]..<Y.offsets[j + 1]
                        guard !yr.isEmpty else { continue }
                        var p: Float = 0
                        for x in xr {
                            let row = s.baseAddress! + x * ny
                            var best = row[yr.lowerBound]
                            for y in yr.dropFirst() { best = max(best, row[y]) }
                            p += best
                        }
                        var r: Float = 0
                        for y in yr { r += cm[y] }
                        P[i, j] = p / Float(xr.count)
                        R[i, j] = r / Float(yr.count)
                    }
                }
            }
        }
        return (P, R)
    }

    static func stack(_ ms: [Matrix]) -> (matrix: Matrix, offsets: [Int]) {
        let d = ms.first?.cols ?? 0
        var offsets = [0]
        var storage: [Float] = []
        storage.reserveCapacity(ms.reduce(0) { $0 + $1.storage.count })
        for m in ms { storage += m.storage; offsets.append(offsets.last! + m.rows) }
        return (Matrix(rows: offsets.last!, cols: d, storage: storage), offsets)
    }
}

/// BERTScore F1 (Zhang et al., ICLR 2020) over MiniLM token embeddings, item text as candidate and
/// rationale as reference: the harmonic mean of greedy-matching precision and recall.
public struct BERTScoreF1: DescriptionDistance {
    public init() {}
    public var name: String { "bertscore-f1" }
    public var summary: String { "BERTScore F1 over MiniLM token embeddings" }
    public var needs: MetricNeeds { [.tokenEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { -1...1 }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        let (p, r) = TokenMatching.precisionRecall(items: items, user: user, context: context, metric: name)
        var f = p
        for k in 0..<f.storage.count {
            let a = p.storage[k], b = r.storage[k]
            f.storage[k] = a + b > 0 ? 2 * a * b / (a + b) : 0
        }
        return f
    }
}

/// ColBERT-style late interaction (Khattab & Zaharia 2020): for each rationale token, the best
/// matching item token, averaged over the rationale's tokens (BERTScore's recall).
public struct MaxSim: DescriptionDistance {
    public init() {}
    public var name: String { "maxsim" }
    public var summary: String { "ColBERT MaxSim: mean over rationale tokens of the best item-token cosine" }
    public var needs: MetricNeeds { [.tokenEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { -1...1 }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        TokenMatching.precisionRecall(items: items, user: user, context: context, metric: name).recall
    }
}
