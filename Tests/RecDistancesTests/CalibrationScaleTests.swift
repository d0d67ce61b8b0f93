import Foundation
import Testing
import RecKit
import RecNumerics
@testable import RecDistances
@testable import RecRewards

/// Issue 15: calibration from the catalog's moments, thresholds once per distinct rationale text.
@Suite struct CalibrationScaleTests {
    /// Mean and population SD of the cosines of rationale j over the whole catalog, by brute force.
    static func bruteForce(_ ctx: ScoringContext, _ j: Int) -> (Double, Double) {
        let items = ctx.catalog.embeddings!, rats = ctx.rationales.embeddings!
        let cos = (0..<items.rows).map { i in Double(dot(items.row(i), rats.row(j))) }
        let mean = cos.reduce(0, +) / Double(cos.count)
        let sd = (cos.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cos.count)).squareRoot()
        return (mean, sd)
    }

    @Test func momentsEqualTheCosinesOverTheCatalog() {
        let (ctx, _) = randomContext(items: 300, rationales: 40, dim: 24, seed: 15)
        let c = CatalogCalibration(context: ctx, k: 10, hubness: false)
        #expect(c.rationaleHubness.isEmpty && c.itemHubness.isEmpty)  // calibrated cosine does not pay for CSLS
        for j in 0..<40 {
            let (mean, sd) = Self.bruteForce(ctx, j)
            #expect(abs(Double(c.mean[j]) - mean) < 1e-5)
            #expect(abs(Double(c.sd[j]) - sd) < 1e-5 * max(1, sd))
        }
    }

    @Test func hubnessWithTheEarlyExitMatchesSortedTopK() {
        let (ctx, _) = randomContext(items: 200, rationales: 30, dim: 16, seed: 4)
        let c = CatalogCalibration(context: ctx, k: 5, hubness: true)
        let items = ctx.catalog.embeddings!, rats = ctx.rationales.embeddings!
        func topMean(_ xs: [Float], _ k: Int) -> Float { xs.sorted(by: >).prefix(k).reduce(0, +) / Float(k) }
        for j in 0..<30 {
            let col = (0..<200).map { dot(items.row($0), rats.row(j)) }
            #expect(abs(c.rationaleHubness[j] - topMean(col, 5)) < 1e-5)
        }
        for i in [0, 57, 199] {
            let row = (0..<30).map { dot(items.row(i), rats.row($0)) }
            #expect(abs(c.itemHubness[i] - topMean(row, 5)) < 1e-5)
        }
    }

    /// Rationale rows repeated many times (shared phrases) are scored once; the items' top lists
    /// still count every copy, as scoring every row would.
    @Test func hubnessOfRepeatedRowsEqualsScoringEveryRow() {
        var g = SeededGenerator(seed: 8)
        let dim = 10
        let phrases = (0..<4).map { _ in (0..<dim).map { _ in Float(g.nextGaussian()) } }
        let rows = (0..<50).map { _ in phrases[g.nextIndex(phrases.count)] }
        let itemRows = (0..<80).map { _ in (0..<dim).map { _ in Float(g.nextGaussian()) } }
        let ctx = ScoringContext(catalog: ScoringCatalog(texts: (0..<80).map { "item \($0)" }, embeddings: Matrix(rowArrays: itemRows)),
                                 rationales: RationaleSet(texts: (0..<50).map { "r\($0)" }, embeddings: Matrix(rowArrays: rows)))
        let c = CatalogCalibration(context: ctx, k: 10, hubness: true)
        let items = ctx.catalog.embeddings!, rats = ctx.rationales.embeddings!
        func topMean(_ xs: [Float], _ k: Int) -> Float { xs.sorted(by: >).prefix(k).reduce(0, +) / Float(min(k, xs.count)) }
        for i in 0..<80 {
            let row = (0..<50).map { dot(items.row(i), rats.row($0)) }
            #expect(abs(c.itemHubness[i] - topMean(row, 10)) < 1e-5)
        }
        for j in 0..<50 {
            #expect(abs(c.rationaleHubness[j] - topMean((0..<80).map { dot(items.row($0), rats.row(j)) }, 10)) < 1e-5)
        }
    }

    /// Users share rationale texts (equal texts have equal embeddings, as from the cache). The
    /// thresholds resolved once per distinct text equal those resolved user by user.
    @Test(arguments: ["sbert-cosine", "calibrated-cosine", "tfidf-cosine", "bm25"])
    func thresholdsPerDistinctTextEqualThosePerUser(_ name: String) throws {
        var g = SeededGenerator(seed: 21)
        let dim = 12, phrases = 9, itemsCount = 400
        let words = ["light", "trail", "shoe", "grip", "waterproof", "jacket", "tent", "boot", "comedy", "film"]
        func vec() -> [Float] { (0..<dim).map { _ in Float(g.nextGaussian()) } }
        let phraseText = (0..<phrases).map { p in "enjoys \(words[p % words.count]) \(words[(p * 3 + 1) % words.count]) \(p)" }
        let phraseVec = (0..<phrases).map { _ in vec() }
        let itemTexts = (0..<itemsCount).map { _ in (0..<4).map { _ in words[g.nextIndex(words.count)] }.joined(separator: " ") }
        var texts: [String] = [], rows: [[Float]] = [], users: [UserQuery] = []
        for u in 0..<60 {
            let start = texts.count
            for _ in 0..<(1 + g.nextIndex(3)) {
                let p = g.nextIndex(phrases)
                texts.append(phraseText[p]); rows.append(phraseVec[p])
            }
            users.append(UserQuery(userID: Int64(u), rationales: start..<texts.count, likedItems: []))
        }
        let catalog = ScoringCatalog(texts: itemTexts, embeddings: Matrix(rowArrays: (0..<itemsCount).map { _ in vec() }))
        let ctx = ScoringContext(catalog: catalog, rationales: RationaleSet(texts: texts, embeddings: Matrix(rowArrays: rows)), seed: 3)
        let metric = try MetricRegistry.standard.metric(named: name).prepared(for: ctx)
        let resolved = try ResolvedThresholds.resolve(.percentile(0.9), metric: metric, context: ctx, users: users, sampleSize: 256)

        // User by user, every column (the definition before deduplication).
        var sg = SeededGenerator(seed: 3).fork("threshold-sample")
        var sample = Array(0..<itemsCount)
        sample.shuffle(using: &sg)
        sample = Array(sample.prefix(256)).sorted()
        for u in users {
            let s = metric.similarities(items: sample, user: u, context: ctx)
            for j in 0..<s.cols {
                let col = (0..<s.rows).map { s[$0, j] }.sorted()
                let pos = 0.9 * Double(col.count - 1)
                let lo = Int(pos.rounded(.down)), hi = min(lo + 1, col.count - 1)
                let v = col[lo] + Float(pos - Double(lo)) * (col[hi] - col[lo])
                // Equal up to BLAS rounding: a GEMM's column can differ in the last bit with the
                // number of columns beside it, so one user's copy of a text may round differently.
                #expect(abs(resolved.values[u.rationales.lowerBound + j] - v) <= 1e-6 * max(1, abs(v)),
                        "user \(u.userID) rationale \(j)")
            }
        }
        // Controls get no thresholds.
        let pop = try ResolvedThresholds.resolve(.percentile(0.9), metric: PopularityScore(), context: ctx, users: users)
        #expect(pop.values.allSatisfy { $0 == .infinity })
    }
}
