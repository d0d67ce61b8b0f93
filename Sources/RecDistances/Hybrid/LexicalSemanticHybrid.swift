import Foundation
import RecKit
import RecNumerics

/// A lexical-semantic hybrid: a convex combination of the rationale's catalog-standardised cosine
/// and its standardised, length-free BM25.
///
/// **Why.** On the synthetic world's true preference statements TF-IDF (ROC-AUC 0.941) and BM25 beat
/// every embedding metric: when a rationale names the very words of the item's description, exact
/// terms are the stronger evidence. On ml-100k's paraphrasing aspect rationales the cosine wins
/// and the lexical metrics sit near chance. Neither half wins everywhere, so the hybrid keeps both
/// on one scale and lets the validation part choose the mix α:
///   h = α · (cos − μ_r) / σ_r + (1 − α) · (b − μ_b) / σ_b,
/// with μ_r, σ_r the rationale's cosine moments over the catalog (as `calibrated-cosine`), b the
/// BM25 score divided by the rationale's largest attainable BM25 (Σ over its terms of
/// idf·(k1 + 1)), so b ∈ [0, 1] whatever the rationale's length, and μ_b, σ_b that quantity's mean
/// and standard deviation over a seeded sample of rationale × item pairs. α = 1 is the calibrated
/// cosine, α = 0 normalised BM25.
public struct LexicalSemanticHybrid: TunableDistance {
    public let alpha: Double
    public let samplePairs: Int
    let state: State?

    struct State: Sendable {
        var calibration: CatalogCalibration
        /// Each rationale's largest attainable BM25, computed once instead of per scoring call.
        var ceilings: [Double]
        var lexicalMean: Double
        var lexicalSD: Double
    }

    public init(alpha: Double = 0.5, samplePairs: Int = 20_000) {
        self.alpha = alpha; self.samplePairs = samplePairs; state = nil
    }
    private init(_ m: LexicalSemanticHybrid, state: State) { alpha = m.alpha; samplePairs = m.samplePairs; self.state = state }

    public var name: String { alpha == 0.5 ? "hybrid" : "hybrid:alpha=\(String(format: "%g", alpha))" }
    public var summary: String { "α·z(cosine) + (1 − α)·z(normalised BM25), α = \(String(format: "%g", alpha))" }
    public var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { nil }

    public var sweepVariants: [any DescriptionDistance] {
        [0.5, 0.25, 0.75, 0.9].map { LexicalSemanticHybrid(alpha: $0, samplePairs: samplePairs) }
    }

    public func prepared(for context: ScoringContext) throws -> any DescriptionDistance {
        try context.check(self)
        let calibration = CatalogCalibration(context: context, k: 10, hubness: false)
        let bm25 = BM25()
        let ceilings = context.rationales.texts.map { LexicalSemanticHybrid.ceiling(bm25, rationale: $0, lexicon: context.catalog.lexicon) }
        let (m, sd) = LexicalSemanticHybrid.lexicalMoments(context: context, ceilings: ceilings, pairs: samplePairs)
        return LexicalSemanticHybrid(self, state: State(calibration: calibration, ceilings: ceilings, lexicalMean: m, lexicalSD: sd))
    }

    /// Mean and standard deviation of normalised BM25 over a seeded sample of (rationale, item) pairs.
    static func lexicalMoments(context: ScoringContext, ceilings: [Double], pairs: Int) -> (mean: Double, sd: Double) {
        let nr = context.rationales.texts.count, ni = context.catalog.count
        guard nr > 0, ni > 0 else { return (0, 1) }
        var g = SeededGenerator(seed: context.seed).fork("hybrid:lexical-moments")
        var sum = 0.0, sum2 = 0.0
        let bm25 = BM25()
        // Sample rationales, then items for each, so each rationale's query is parsed once.
        let perRationale = 20
        let rationales = max(1, pairs / perRationale)
        for _ in 0..<rationales {
            let r = Int.random(in: 0..<nr, using: &g)
            let items = (0..<perRationale).map { _ in Int.random(in: 0..<ni, using: &g) }
            let values = normalizedBM25(bm25, rationale: r, items: items, context: context, ceiling: ceilings[r])
            for v in values { sum += v; sum2 += v * v }
        }
        let n = Double(rationales * perRationale)
        let mean = sum / n
        return (mean, max((sum2 / n - mean * mean).squareRoot(), 1e-6))
    }

    /// The largest BM25 a rationale can reach: Σ over its catalog terms of count · idf · (k1 + 1).
    static func ceiling(_ bm25: BM25, rationale text: String, lexicon lex: Lexicon) -> Double {
        lex.query(text).known.reduce(0.0) { $0 + Double($1.value) * lex.bm25IDF(lex.documentFrequency[$1.key]) * (bm25.k1 + 1) }
    }

    /// BM25 of `items` against rationale `r`, divided by `ceiling`, the rationale's `ceiling(_:rationale:lexicon:)`.
    static func normalizedBM25(_ bm25: BM25, rationale r: Int, items: [Int], context: ScoringContext, ceiling: Double) -> [Double] {
        guard ceiling > 0 else { return [Double](repeating: 0, count: items.count) }
        let s = bm25.similarities(items: items, user: UserQuery(userID: 0, rationales: r..<(r + 1), likedItems: []), context: context)
        return s.storage.map { Double($0) / ceiling }
    }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard let st = state else { preconditionFailure("\(name) used before prepared(for:)") }
        var s = SBERTCosine().similarities(items: items, user: user, context: context)
        let r = s.cols
        let bm25 = BM25()
        for j in 0..<r {
            let g = user.rationales.lowerBound + j
            let lexical = LexicalSemanticHybrid.normalizedBM25(bm25, rationale: g, items: items, context: context, ceiling: st.ceilings[g])
            for i in 0..<s.rows {
                let zc = (Double(s.storage[i * r + j]) - Double(st.calibration.mean[g])) / Double(st.calibration.sd[g])
                let zl = (lexical[i] - st.lexicalMean) / st.lexicalSD
                s.storage[i * r + j] = Float(alpha * zc + (1 - alpha) * zl)
            }
        }
        return s
    }
}
