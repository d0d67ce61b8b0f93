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
    /// to its k nearest rationales (over every user's rationales). Empty unless asked for.
    var rationaleHubness: [Float]
    var itemHubness: [Float]

    /// - Parameter hubness: compute the CSLS terms too. They need every rationale × item cosine
    ///   (rationales × catalog work); the mean and standard deviation do not.
    init(context: ScoringContext, k: Int, hubness: Bool) {
        let items = context.catalog.embeddings!, rats = context.rationales.embeddings!
        let n = items.rows, r = rats.rows
        mean = [Float](repeating: 0, count: r)
        sd = [Float](repeating: 1, count: r)
        rationaleHubness = []
        itemHubness = []
        guard n > 0, r > 0 else { return }
        (mean, sd) = CatalogCalibration.moments(items: items, rationales: rats)
        if hubness { (rationaleHubness, itemHubness) = CatalogCalibration.hubness(items: items, rationales: rats, k: k) }
    }

    /// Mean and standard deviation of x·r over the catalog rows x, for every rationale row r, from
    /// the catalog's first two moments: mean = r·μ and variance = rᵀ C r with C the catalog's
    /// covariance. That is O((items + rationales) · d²) instead of one cosine per rationale × item,
    /// so calibrating 400k rationales against a 20k catalog takes a second, not minutes. C comes from
    /// the centred rows, so the variance has no E[s²] − E[s]² cancellation.
    static func moments(items: Matrix, rationales rats: Matrix) -> (mean: [Float], sd: [Float]) {
        let n = items.rows, d = items.cols, r = rats.rows
        var mu = [Double](repeating: 0, count: d)
        items.storage.withUnsafeBufferPointer { p in
            for i in 0..<n { for c in 0..<d { mu[c] += Double(p[i * d + c]) } }
        }
        for c in 0..<d { mu[c] /= Double(n) }
        var centred = items
        centred.storage.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for c in 0..<d { p[i * d + c] -= Float(mu[c]) } }
        }
        let cov = Kernels.gemm(centred, transposeA: true, centred, alpha: 1 / Float(n))  // d × d
        var mean = [Float](repeating: 0, count: r), sd = [Float](repeating: 1, count: r)
        // Rationales in blocks, so the rows × d product stays small however many there are.
        let block = 4096
        var start = 0
        while start < r {
            let end = min(start + block, r)
            let rows = rats.rows(start..<end)
            let rc = Kernels.gemm(rows, cov)  // (end − start) × d
            rows.storage.withUnsafeBufferPointer { a in
                rc.storage.withUnsafeBufferPointer { b in
                    for q in 0..<(end - start) {
                        var m = 0.0, v = 0.0
                        for c in 0..<d {
                            let x = Double(a[q * d + c])
                            m += x * mu[c]
                            v += x * Double(b[q * d + c])
                        }
                        mean[start + q] = Float(m)
                        sd[start + q] = Float(max(max(v, 0).squareRoot(), 1e-6))
                    }
                }
            }
            start = end
        }
        return (mean, sd)
    }

    /// CSLS's hubness terms: one pass over every distinct rationale × item cosine, in chunks.
    ///
    /// Identical rationale rows (a phrase that thousands of users share, as the aspect reasoner's
    /// do) have identical cosines, so each distinct row is scored once and enters the items' top
    /// lists with its multiplicity: the result equals scoring every row, at distinct rows ×
    /// catalog cost. The work is still rationales × catalog for distinct texts (oracle-like
    /// rationales), which is inherent to "each item's k nearest rationales".
    static func hubness(items: Matrix, rationales rats: Matrix, k: Int) -> (rationale: [Float], item: [Float]) {
        let n = items.rows, r = rats.rows
        let (distinct, distinctOf) = distinctRows(rats)
        let rd = distinct.rows
        var multiplicity = [Int](repeating: 0, count: rd)
        for k in distinctOf { multiplicity[k] += 1 }
        var distinctHubness = [Float](repeating: 0, count: rd)
        // Chunks of rationales keep the similarity block small for large catalogs.
        let chunk = max(1, min(rd, (1 << 24) / max(n, 1)))
        var itemTop = [[Float]](repeating: [], count: n)
        // The smallest value an item's top list holds once full (−∞ before): almost every cosine
        // falls below it, so the common case is one comparison instead of a scan of the list.
        var itemFloor = [Float](repeating: -.infinity, count: n)
        let kk = min(k, n), ki = min(k, r)
        var start = 0
        while start < rd {
            let end = min(start + chunk, rd)
            let s = Kernels.gemm(distinct.rows(start..<end), items, transposeB: true)  // (end-start) × n
            s.storage.withUnsafeBufferPointer { p in
                for row in 0..<(end - start) {
                    let base = p.baseAddress! + row * n
                    distinctHubness[start + row] = topMean(base, n, kk)
                    let copies = min(multiplicity[start + row], ki)
                    for j in 0..<n where base[j] > itemFloor[j] {
                        for _ in 0..<copies where base[j] > itemFloor[j] {
                            insertTop(&itemTop[j], base[j], ki)
                            if itemTop[j].count == ki { itemFloor[j] = itemTop[j].min()! }
                        }
                    }
                }
            }
            start = end
        }
        let itemHubness = itemTop.map { $0.isEmpty ? 0 : $0.reduce(0, +) / Float($0.count) }
        return (distinctOf.map { distinctHubness[$0] }, itemHubness)
    }
}

/// Mean of the k largest of n values.
func topMean(_ p: UnsafePointer<Float>, _ n: Int, _ k: Int) -> Float {
    var top: [Float] = []
    top.reserveCapacity(k + 1)
    var floor = -Float.infinity  // smallest kept value once `top` is full (see `hubness`)
    for j in 0..<n where p[j] > floor {
        insertTop(&top, p[j], k)
        if top.count == k { floor = top.min()! }
    }
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
        return CalibratedCosine(calibration: CatalogCalibration(context: context, k: 10, hubness: false))
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
        return CSLSCosine(calibration: CatalogCalibration(context: context, k: k, hubness: true), k: k)
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
