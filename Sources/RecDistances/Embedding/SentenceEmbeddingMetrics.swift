import RecNumerics

/// Cosine similarity of SentenceBERT embeddings: ELLM's choice (its reward is this value, paid
/// when it clears a threshold). One GEMM per user: items × d times (rationales × d)ᵀ.
public struct SBERTCosine: DescriptionDistance {
    public init() {}
    public var name: String { "sbert-cosine" }
    public var summary: String { "cosine of sentence embeddings (ELLM)" }
    public var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { -1...1 }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        Kernels.gemm(context.itemEmbeddings(items, metric: name), context.rationaleEmbeddings(user.rationales, metric: name), transposeB: true)
    }
}

/// Dot product of the embeddings as the encoder returned them — differs from the cosine only for
/// encoders that do not normalise (MiniLM does, so there the two agree).
public struct SBERTDot: DescriptionDistance {
    public init() {}
    public var name: String { "sbert-dot" }
    public var summary: String { "dot product of unnormalised sentence embeddings" }
    public var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { nil }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard let items0 = context.catalog.rawEmbeddings, let rats = context.rationales.rawEmbeddings else {
            preconditionFailure(MetricError.missingInput(metric: name, what: "embeddings").description)
        }
        return Kernels.gemm(gather(items0, items), rats.rows(user.rationales), transposeB: true)
    }
}

/// Each rationale's similarity over the whole catalog, as per-rationale statistics.
struct CatalogCalibration: Sendable {
    /// Mean and standard deviation of cos(rationale, item) over all items, per rationale.
    var mean: [Float]
    var sd: [Float]
    /// CSLS hubness terms: mean cosine of each rationale to its k nearest items, and of each item
    /// to its k nearest rationales (over every user's rationales).
    var rationaleHubness: [Float]
    var itemHubness: [Float]

    init(context: ScoringContext, k: Int) {
        let items = context.catalog.embeddings!, rats = context.rationales.embeddings!
        let n = items.rows, r = rats.rows
        mean = [Float](repeating: 0, count: r)
        sd = [Float](repeating: 1, count: r)
        rationaleHubness = [Float](repeating: 0, count: r)
        itemHubness = [Float](repeating: 0, count: n)
        guard n > 0, r > 0 else { return }
        // Chunks of rationales keep the similarity block small for large catalogs.
        let chunk = max(1, min(r, (1 << 24) / max(n, 1)))
        var itemTop = [[Float]](repeating: [], count: n)
        let kk = min(k, n), ki = min(k, r)
        var start = 0
        while start < r {
            let end = min(start + chunk, r)
            let s = Kernels.gemm(rats.rows(start..<end), items, transposeB: true)  // (end-start) × n
            s.storage.withUnsafeBufferPointer { p in
                for row in 0..<(end - start) {
                    let base = p.baseAddress! + row * n
                    var sum = 0.0, sum2 = 0.0
                    for j in 0..<n { let v = Double(base[j]); sum += v; sum2 += v * v }
                    let m = sum / Double(n)
                    mean[start + row] = Float(m)
                    sd[start + row] = Float(max((sum2 / Double(n) - m * m).squareRoot(), 1e-6))
                    rationaleHubness[start + row] = topMean(base, n, kk)
                    for j in 0..<n { insertTop(&itemTop[j], base[j], ki) }
                }
            }
            start = end
        }
        for j in 0..<n { itemHubness[j] = itemTop[j].isEmpty ? 0 : itemTop[j].reduce(0, +) / Float(itemTop[j].count) }
    }
}

/// Mean of the k largest of n values.
func topMean(_ p: UnsafePointer<Float>, _ n: Int, _ k: Int) -> Float {
    var top: [Float] = []
    top.reserveCapacity(k + 1)
    for j in 0..<n { insertTop(&top, p[j], k) }
    return top.isEmpty ? 0 : top.reduce(0, +) / Float(top.count)
}

/// Keeps `top` as the k largest values seen (unordered small array; k is ~10).
@inline(__always) func insertTop(_ top: inout [Float], _ v: Float, _ k: Int) {
    if top.count < k { top.append(v); return }
    var minIndex = 0
    for i in 1..<top.count where top[i] < top[minIndex] { minIndex = i }
    if v > top[minIndex] { top[minIndex] = v }
}

/// Catalog-calibrated cosine: each rationale's cosine standardised against its own distribution
/// over the whole catalog, (cos − μ_r) / σ_r. A broad rationale ("enjoys films") is close to
/// everything and a narrow one to little; after standardisation one threshold (say z ≥ 2) means
/// "unusually close for this rationale" for every rationale. Our proposal; compare with ELLM's raw
/// cosine in `validate-rewards`.
public struct CalibratedCosine: DescriptionDistance {
    let calibration: CatalogCalibration?
    public init() { calibration = nil }
    init(calibration: CatalogCalibration) { self.calibration = calibration }

    public var name: String { "calibrated-cosine" }
    public var summary: String { "cosine z-scored against the rationale's similarity over the catalog" }
    public var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { nil }

    public func prepared(for context: ScoringContext) throws -> any DescriptionDistance {
        try context.check(self)
        return CalibratedCosine(calibration: CatalogCalibration(context: context, k: 10))
    }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard let c = calibration else { preconditionFailure("calibrated-cosine used before prepared(for:)") }
        var s = SBERTCosine().similarities(items: items, user: user, context: context)
        let r = s.cols
        for i in 0..<s.rows {
            for j in 0..<r {
                let g = user.rationales.lowerBound + j
                s.storage[i * r + j] = (s.storage[i * r + j] - c.mean[g]) / c.sd[g]
            }
        }
        return s
    }
}

/// CSLS-corrected cosine (Conneau et al. 2018): 2·cos(x, y) − r(x) − r(y), where r(x) is the mean
/// cosine of item x to its k = 10 nearest rationales (of all users) and r(y) that of rationale y to
/// its 10 nearest items. Penalises hubs: items close to every rationale, rationales close to every
/// item.
public struct CSLSCosine: DescriptionDistance {
    let calibration: CatalogCalibration?
    public let k: Int
    public init(k: Int = 10) { calibration = nil; self.k = k }
    init(calibration: CatalogCalibration, k: Int) { self.calibration = calibration; self.k = k }

    public var name: String { "csls-cosine" }
    public var summary: String { "cosine with CSLS hubness correction (k = \(k))" }
    public var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { -4...2 }

    public func prepared(for context: ScoringContext) throws -> any DescriptionDistance {
        try context.check(self)
        return CSLSCosine(calibration: CatalogCalibration(context: context, k: k), k: k)
    }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard let c = calibration else { preconditionFailure("csls-cosine used before prepared(for:)") }
        var s = SBERTCosine().similarities(items: items, user: user, context: context)
        let r = s.cols
        for (i, item) in items.enumerated() {
            for j in 0..<r {
                let g = user.rationales.lowerBound + j
                s.storage[i * r + j] = 2 * s.storage[i * r + j] - c.itemHubness[item] - c.rationaleHubness[g]
            }
        }
        return s
    }
}
