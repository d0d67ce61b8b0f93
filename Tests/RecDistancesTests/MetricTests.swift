import Foundation
import Testing
import RecKit
import RecNumerics
@testable import RecDistances
@testable import RecRewards

/// A random context: `n` items and `r` rationales with random embeddings and token embeddings.
func randomContext(items n: Int = 30, rationales r: Int = 6, dim: Int = 16, seed: UInt64 = 1) -> (ScoringContext, UserQuery) {
    var g = SeededGenerator(seed: seed)
    func m(_ rows: Int) -> Matrix { Matrix(rows: rows, cols: dim, storage: (0..<(rows * dim)).map { _ in Float(g.nextGaussian()) }) }
    let words = ["light", "trail", "shoe", "grip", "waterproof", "jacket", "tent", "boot", "comedy", "animated", "film"]
    func text(_ k: Int) -> String { (0..<(3 + k % 4)).map { _ in words[g.nextIndex(words.count)] }.joined(separator: " ") }
    let itemTexts = (0..<n).map(text), ratTexts = (0..<r).map(text)
    let catalog = ScoringCatalog(texts: itemTexts, embeddings: m(n), tokenEmbeddings: (0..<n).map { m(2 + $0 % 5) },
                                 popularity: (0..<n).map { Float($0 % 7) })
    let rats = RationaleSet(texts: ratTexts, embeddings: m(r), tokenEmbeddings: (0..<r).map { m(1 + $0 % 4) })
    return (ScoringContext(catalog: catalog, rationales: rats, seed: seed), UserQuery(userID: 1, rationales: 0..<r, likedItems: [0, 3, 5]))
}

func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

@Suite struct EmbeddingMetricTests {
    @Test func cosineBatchEqualsPairwise() {
        let (ctx, u) = randomContext()
        let items = [4, 0, 17, 29]
        let s = SBERTCosine().similarities(items: items, user: u, context: ctx)
        for (i, item) in items.enumerated() {
            for j in 0..<6 {
                let a = ctx.catalog.rawEmbeddings!.row(item), b = ctx.rationales.rawEmbeddings!.row(j)
                let cos = dot(a, b) / (dot(a, a).squareRoot() * dot(b, b).squareRoot())
                #expect(abs(s[i, j] - cos) < 1e-5)
            }
        }
        let d = SBERTDot().similarities(items: items, user: u, context: ctx)
        #expect(abs(d[0, 0] - dot(ctx.catalog.rawEmbeddings!.row(4), ctx.rationales.rawEmbeddings!.row(0))) < 1e-4)
    }

    @Test func calibratedCosineIsStandardisedOverTheCatalog() throws {
        let (ctx, u) = randomContext()
        let m = try CalibratedCosine().prepared(for: ctx)
        let s = m.similarities(items: Array(0..<30), user: u, context: ctx)
        for j in 0..<6 {
            let col = (0..<30).map { Double(s[$0, j]) }
            let mean = col.reduce(0, +) / 30
            let sd = (col.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 30).squareRoot()
            #expect(abs(mean) < 1e-4 && abs(sd - 1) < 1e-3)
        }
    }

    @Test func cslsMatchesItsDefinition() throws {
        let (ctx, u) = randomContext()
        let m = try CSLSCosine(k: 3).prepared(for: ctx)
        let cos = SBERTCosine().similarities(items: Array(0..<30), user: u, context: ctx)
        let s = m.similarities(items: [7], user: u, context: ctx)
        func topMean(_ xs: [Float], _ k: Int) -> Float { xs.sorted(by: >).prefix(k).reduce(0, +) / Float(k) }
        for j in 0..<6 {
            let rItem = topMean((0..<6).map { cos[7, $0] }, 3)
            let rRat = topMean((0..<30).map { cos[$0, j] }, 3)
            #expect(abs(s[0, j] - (2 * cos[7, j] - rItem - rRat)) < 1e-5)
        }
    }

    /// BERTScore P, R and F1 and MaxSim against a brute-force computation in Double, within
    /// bounds derived from fp32 arithmetic rather than picked: a d-term dot product in any
    /// summation order (OpenBLAS blocks differently per CPU kernel) is off by at most
    /// γ_d·Σ|x_k·y_k|, a max of perturbed values by the largest perturbation, and a mean of n
    /// terms adds γ_(n+1)·mean|term|. F1 = 2PR/(P+R) moves by (2R²·δP + 2P²·δR)/(P+R)² to first
    /// order, which grows without bound near P + R = 0 (where a fixed tolerance fails on some CPUs);
    /// the factor 2 on that term covers the second-order remainder, and 4u·|F1| its own roundings.
    @Test func bertScoreAndMaxSimMatchBruteForce() {
        let (ctx, u) = randomContext()
        let items = [2, 9, 13, 21]
        let f = BERTScoreF1().similarities(items: items, user: u, context: ctx)
        let r = MaxSim().similarities(items: items, user: u, context: ctx)
        let unit = Double(Float.ulpOfOne) / 2
        func gamma(_ n: Int) -> Double { Double(n) * unit / (1 - Double(n) * unit) }
        /// Mean over `a`'s rows of the best dot with a row of `b`, and its error bound.
        func meanOfBest(_ a: [[Float]], _ b: [[Float]]) -> (value: Double, bound: Double) {
            var sum = 0.0, sumAbs = 0.0, dotErrors = 0.0
            for x in a {
                let dots = b.map { y in zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
                let errs = b.map { y in gamma(x.count) * zip(x, y).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) } }
                let best = dots.max()!
                sum += best; sumAbs += abs(best); dotErrors += errs.max()!
            }
            let n = Double(a.count)
            return (sum / n, dotErrors / n + gamma(a.count + 1) * sumAbs / n)
        }
        for (i, item) in items.enumerated() {
            let X = ctx.catalog.tokenEmbeddings![item].rowArrays
            for j in 0..<6 {
                let Y = ctx.rationales.tokenEmbeddings![j].rowArrays
                let (P, eP) = meanOfBest(X, Y), (R, eR) = meanOfBest(Y, X)
                #expect(abs(Double(r[i, j]) - R) <= eR, "MaxSim item \(item) rationale \(j)")
                guard abs(P + R) > eP + eR else { continue }  // the sign of P + R, and so the branch, is undetermined
                let F = P + R > 0 ? 2 * P * R / (P + R) : 0
                let eF = P + R > 0 ? 2 * (2 * R * R * eP + 2 * P * P * eR) / ((P + R) * (P + R)) + 4 * unit * abs(F) : 0
                #expect(abs(Double(f[i, j]) - F) <= eF, "BERTScore-F1 item \(item) rationale \(j): P \(P) R \(R)")
            }
        }
    }

    @Test func centroidControlIgnoresRationales() {
        let (ctx, u) = randomContext()
        var c = [Float](repeating: 0, count: 16)
        for i in u.likedItems { for (k, v) in ctx.catalog.embeddings!.row(i).enumerated() { c[k] += v } }
        let s = CentroidCosine().similarities(items: [11], user: u, context: ctx)
        let e = ctx.catalog.embeddings!.row(11)
        #expect(s.cols == 1)
        #expect(abs(s[0, 0] - dot(e, c) / dot(c, c).squareRoot()) < 1e-5)
        var lonely = u; lonely.likedItems = []
        #expect(CentroidCosine().similarities(items: [1, 2], user: lonely, context: ctx).storage == [0, 0])
    }

    @Test func randomControlIsSeededAndOrderFree() {
        let (ctx, u) = randomContext()
        let a = RandomScore().similarities(items: [1, 2, 3], user: u, context: ctx)
        let b = RandomScore().similarities(items: [3, 2, 1], user: u, context: ctx)
        #expect(a.storage == b.storage.reversed())
        var other = ctx; other.seed = 99
        #expect(RandomScore().similarities(items: [1, 2, 3], user: u, context: other).storage != a.storage)
        let p = PopularityScore().similarities(items: [6, 7], user: u, context: ctx)
        #expect(abs(p.storage[0] - log1pf(6)) < 1e-6 && p.storage[1] == 0)
    }
}

@Suite struct LexicalMetricTests {
    static let docs = ["Light trail running shoes with strong grip.", "A waterproof rain jacket.", "Heavy hiking boots, waterproof and warm."]

    func context(_ rationale: String) -> (ScoringContext, UserQuery) {
        (ScoringContext(catalog: ScoringCatalog(texts: Self.docs), rationales: RationaleSet(texts: [rationale])),
         UserQuery(userID: 1, rationales: 0..<1, likedItems: []))
    }

    @Test func tokenizerDropsStopwordsAndFoldsPlurals() {
        #expect(LexicalTokenizer.tokens("The boots and the comedies, classes!") == ["boot", "comedy", "class"])
        #expect(LexicalTokenizer.tokens("") == [])
    }

    @Test func tfidfCosineMatchesAHandComputation() {
        let (ctx, u) = context("waterproof boots")
        let s = TFIDFCosine().similarities(items: [0, 1, 2], user: u, context: ctx)
        // idf = ln((1+3)/(1+df)) + 1; "waterproof" df 2, "boot" df 1.
        let idfW = log(4.0 / 3) + 1, idfB = log(4.0 / 2) + 1
        // doc 2 tokens: heavy hiking boot waterproof warm (df 1 except waterproof).
        let d2 = [idfB, idfB, idfB, idfW, idfB]  // heavy, hiking, boot, waterproof, warm
        let dn = d2.map { $0 * $0 }.reduce(0, +).squareRoot()
        let qn = (idfW * idfW + idfB * idfB).squareRoot()
        let expected = (idfW * idfW + idfB * idfB) / (qn * dn)
        #expect(abs(Double(s[2, 0]) - expected) < 1e-5)
        #expect(s[0, 0] == 0)
        #expect(s[1, 0] > 0 && s[1, 0] < s[2, 0])
    }

    @Test func bm25MatchesAHandComputation() {
        let (ctx, u) = context("waterproof jacket")
        let s = BM25().similarities(items: [0, 1, 2], user: u, context: ctx)
        let lengths = [6.0, 3.0, 5.0]  // light trail running shoe strong grip / waterproof rain jacket / heavy hiking boot waterproof warm
        let avg = lengths.reduce(0, +) / 3
        func idf(_ df: Double) -> Double { log(1 + (3 - df + 0.5) / (df + 0.5)) }
        func term(_ tf: Double, _ len: Double) -> Double { tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / avg)) }
        #expect(abs(Double(s[1, 0]) - (idf(2) * term(1, 3) + idf(1) * term(1, 3))) < 1e-5)
        #expect(abs(Double(s[2, 0]) - idf(2) * term(1, 5)) < 1e-5)
        #expect(s[0, 0] == 0)
    }

    @Test func jaccardCountsWordOverlap() {
        let (ctx, u) = context("waterproof rain gear")
        let s = TokenJaccard().similarities(items: [1], user: u, context: ctx)
        #expect(abs(s[0, 0] - 2.0 / 4.0) < 1e-6)  // {waterproof, rain} of {waterproof, rain, gear, jacket}
    }
}

/// A metric a researcher adds in a few lines: here, the negated Euclidean distance.
struct NegativeEuclidean: DescriptionDistance {
    var name: String { "neg-euclidean" }
    var summary: String { "minus the Euclidean distance of normalised embeddings" }
    var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    var range: ClosedRange<Double>? { -2...0 }
    func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        var s = SBERTCosine().similarities(items: items, user: user, context: context)
        for k in 0..<s.storage.count { s.storage[k] = -(max(0, 2 - 2 * s.storage[k])).squareRoot() }
        return s
    }
}

@Suite struct RegistryTests {
    @Test func unknownNamesListWhatExists() throws {
        #expect(throws: MetricError.self) { _ = try MetricRegistry.standard.metrics(named: "sbert-cosine,nope") }
        do { _ = try MetricRegistry.standard.metric(named: "nope") } catch {
            #expect("\(error)".contains("available: sbert-cosine"))
        }
        #expect(try MetricRegistry.standard.metrics(named: "all").count == MetricRegistry.standard.names.count)
    }

    @Test func aNewMetricIsOneRegistrationLine() throws {
        var registry = MetricRegistry.standard
        registry.register(NegativeEuclidean())
        let (ctx, u) = randomContext()
        let m = try registry.metric(named: "neg-euclidean")
        let s = m.similarities(items: [0], user: u, context: ctx)
        #expect(s.storage.allSatisfy { $0 <= 0 && $0 >= -2 })
    }
}

@Suite struct ELLMRewardTests {
    let config = ELLMRewardConfiguration(threshold: .absolute(0.5), payout: .similarity, scale: 2, filterAchieved: true)

    @Test func paysTheBestClearedSimilarityScaled() {
        let o = ELLMReward.decide(similarities: [0.2, 0.7, 0.6], thresholds: [0.5, 0.5, 0.5], configuration: config)
        #expect(abs(o.reward - 1.4) < 1e-6 && o.bestRationale == 1 && o.achieved == [1, 2])
        let none = ELLMReward.decide(similarities: [0.2, 0.4], thresholds: [0.5, 0.5], configuration: config)
        #expect(none.reward == 0 && none.achieved.isEmpty && abs(none.bestSimilarity! - 0.4) < 1e-6)
        var binary = config; binary.payout = .binary
        #expect(ELLMReward.decide(similarities: [0.9], thresholds: [0.5], configuration: binary).reward == 2)
        // Per-rationale thresholds: the best overall may miss its threshold while another clears.
        let mixed = ELLMReward.decide(similarities: [0.8, 0.6], thresholds: [0.9, 0.5], configuration: config)
        #expect(abs(mixed.reward - 1.2) < 1e-6 && mixed.achieved == [1])
    }

    @Test func achievedRationalesAreFilteredUntilTheEpisodeEnds() throws {
        let (ctx, u) = randomContext()
        let cos = SBERTCosine().similarities(items: Array(0..<30), user: u, context: ctx)
        // Pick a threshold that item 0 clears for its best rationale.
        let best0 = (0..<6).map { cos[0, $0] }.max()!
        var reward = try ELLMReward(configuration: ELLMRewardConfiguration(threshold: .absolute(Double(best0) - 1e-4)),
                                    metric: SBERTCosine(), context: ctx, users: [u])
        reward.beginEpisode(user: 1)
        let first = reward.step(item: 0)
        #expect(first.reward > 0 && !first.achieved.isEmpty)
        let again = reward.step(item: 0)
        #expect(again.reward == 0)  // the same goal cannot pay twice in an episode
        #expect(reward.achieved == Set(first.achieved))
        reward.beginEpisode(user: 1)
        #expect(reward.step(item: 0).reward > 0)
        reward.beginEpisode(user: 42)  // a user without rationales earns nothing
        #expect(reward.reward(for: 0) == 0)
    }

    @Test func percentileThresholdsSelectTheSameShareForEveryRationale() throws {
        let (ctx, u) = randomContext(items: 200, rationales: 5)
        let t = try ResolvedThresholds.resolve(.percentile(0.9), metric: SBERTCosine(), context: ctx, users: [u])
        let s = SBERTCosine().similarities(items: Array(0..<200), user: u, context: ctx)
        for j in 0..<5 {
            let above = (0..<200).filter { s[$0, j] >= t.values[j] }.count
            #expect(above >= 19 && above <= 21, "rationale \(j): \(above)")
        }
        #expect(throws: MetricError.self) { _ = try ResolvedThresholds.resolve(.absolute(1.5), metric: SBERTCosine(), context: ctx, users: [u]) }
        #expect(RewardThreshold(parsing: "p0.95") == .percentile(0.95))
        #expect(RewardThreshold(parsing: "90%") == .percentile(0.9))
        #expect(RewardThreshold(parsing: "0.6") == .absolute(0.6))
        #expect(RewardThreshold(parsing: "x") == nil)
    }
}
