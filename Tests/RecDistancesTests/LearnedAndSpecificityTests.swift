import Foundation
import Testing
import RecKit
import RecNumerics
@testable import RecDistances

/// A world with a planted preference: items and rationales are random unit vectors; a user likes
/// an item when the item points the same way as the user's "taste" direction along one axis pair
/// that the rationales reveal. Returns the context (users with training labels) and the planted
/// label function for fresh items.
func plantedWorld(users: Int = 60, items: Int = 120, dim: Int = 12, seed: UInt64 = 3) -> ScoringContext {
    var g = SeededGenerator(seed: seed)
    func unit(_ d: Int) -> [Float] {
        let v = (0..<d).map { _ in Float(g.nextGaussian()) }
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }
    let itemRows = (0..<items).map { _ in unit(dim) }
    var ratRows: [[Float]] = [], queries: [UserQuery] = []
    for u in 0..<users {
        // The user's taste: +axis 0 or −axis 0; their two rationales lean that way.
        let sign: Float = u % 2 == 0 ? 1 : -1
        let start = ratRows.count
        for _ in 0..<2 {
            var r = unit(dim)
            r[0] = sign * (abs(r[0]) + 1)
            let n = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
            ratRows.append(r.map { $0 / n })
        }
        var liked: [Int] = [], disliked: [Int] = []
        for _ in 0..<20 {
            let i = g.nextIndex(items)
            (sign * itemRows[i][1 % dim] + sign * itemRows[i][0] > 0 ? { liked.append(i) } : { disliked.append(i) })()
        }
        queries.append(UserQuery(userID: Int64(u), rationales: start..<(start + 2), likedItems: liked, dislikedItems: disliked))
    }
    let catalog = ScoringCatalog(texts: (0..<items).map { "item \($0)" }, embeddings: Matrix(rowArrays: itemRows))
    let rats = RationaleSet(texts: (0..<ratRows.count).map { "rationale \($0)" }, embeddings: Matrix(rowArrays: ratRows))
    return ScoringContext(catalog: catalog, rationales: rats, seed: seed, users: queries)
}

/// Share of (liked, not liked) pairs a scorer orders correctly (ties count half).
func pairwiseAUC(_ scores: [(Float, Bool)]) -> Double {
    let pos = scores.filter(\.1).map(\.0), neg = scores.filter { !$0.1 }.map(\.0)
    var s = 0.0
    for p in pos { for n in neg { s += p > n ? 1 : (p == n ? 0.5 : 0) } }
    return s / Double(pos.count * neg.count)
}

@Suite struct LearnedBilinearTests {
    @Test func fitLowersTheLossAndRanksTrainingLabels() throws {
        let ctx = plantedWorld()
        let m = try #require(try LearnedBilinear(l2: 1e-4, iterations: 200, learningRate: 0.05).prepared(for: ctx) as? LearnedBilinear)
        let f = try #require(m.fitted)
        #expect(f.finalLoss < f.initialLoss - 0.1)
        #expect(f.examples == ctx.users.reduce(0) { $0 + 2 * ($1.likedItems.count + $1.dislikedItems.count) })
        var scored: [(Float, Bool)] = []
        for u in ctx.users {
            let items = u.likedItems + u.dislikedItems
            let s = m.similarities(items: items, user: u, context: ctx)
            for (k, _) in items.enumerated() { scored.append((m.combinedScore((0..<s.cols).map { s[k, $0] }, user: u), k < u.likedItems.count)) }
        }
        #expect(pairwiseAUC(scored) > 0.9)
        // The cosine cannot see the planted rule (it needs the sign flip the users' labels encode).
        var cos: [(Float, Bool)] = []
        for u in ctx.users {
            let items = u.likedItems + u.dislikedItems
            let s = SBERTCosine().similarities(items: items, user: u, context: ctx)
            for (k, _) in items.enumerated() { cos.append(((0..<s.cols).map { s[k, $0] }.max()!, k < u.likedItems.count)) }
        }
        #expect(pairwiseAUC(scored) > pairwiseAUC(cos) + 0.1)
    }

    /// The fit reads only `context.users` (training labels) and the embeddings: two contexts that
    /// differ in anything else (held-out data never enters a context) give the same bits, and a
    /// label change does change the fit (the check can fail).
    @Test func fitIsDeterministicAndReadsOnlyTrainingLabels() throws {
        let ctx = plantedWorld()
        let a = try LearnedBilinear.fit(context: ctx, l2: 1e-3, iterations: 30, learningRate: 0.02, maximumPairs: 1_000_000)
        let b = try LearnedBilinear.fit(context: ctx, l2: 1e-3, iterations: 30, learningRate: 0.02, maximumPairs: 1_000_000)
        #expect(a == b)
        var other = ctx
        other.users[0].likedItems.append(other.users[0].dislikedItems.removeLast())
        let c = try LearnedBilinear.fit(context: other, l2: 1e-3, iterations: 30, learningRate: 0.02, maximumPairs: 1_000_000)
        #expect(c.weights != a.weights)
    }

    @Test func subsampleIsSeededAndBounded() {
        let ctx = plantedWorld()
        let all = LearnedBilinear.examples(context: ctx, maximumPairs: 1_000_000).reduce(0) { $0 + $1.items.count }
        let s1 = LearnedBilinear.examples(context: ctx, maximumPairs: all / 2).map(\.items)
        let s2 = LearnedBilinear.examples(context: ctx, maximumPairs: all / 2).map(\.items)
        #expect(s1 == s2)
        let kept = s1.reduce(0) { $0 + $1.count }
        #expect(kept > all / 3 && kept < 2 * all / 3)
    }

    @Test func oneClassLabelsAreRefusedByName() {
        var ctx = plantedWorld()
        for u in ctx.users.indices { ctx.users[u].likedItems += ctx.users[u].dislikedItems; ctx.users[u].dislikedItems = [] }
        #expect(throws: LearnedDistanceError.oneClassOnly(metric: "learned-bilinear", liked: true)) {
            try LearnedBilinear.fit(context: ctx, l2: 1e-3, iterations: 5, learningRate: 0.02, maximumPairs: 1_000_000)
        }
        ctx.users = []
        #expect(throws: LearnedDistanceError.noTrainingLabels(metric: "learned-bilinear")) {
            try LearnedBilinear.fit(context: ctx, l2: 1e-3, iterations: 5, learningRate: 0.02, maximumPairs: 1_000_000)
        }
    }

    @Test func learnedBothPutsTheUsersHistoryBesideEachRationale() throws {
        let ctx = plantedWorld()
        let left = rationalesBesideHistory(ctx.rationales.embeddings!, users: ctx.users, items: ctx.catalog.embeddings!)
        let u = ctx.users[3], d = 12
        let c = likedCentroids([u.likedItems], items: ctx.catalog.embeddings!).row(0)
        for j in u.rationales {
            #expect(Array(left.row(j).prefix(d)) == ctx.rationales.embeddings!.row(j))
            #expect(Array(left.row(j).suffix(d)) == c)
        }
        let m = try #require(try LearnedBilinear(iterations: 60, withHistory: true).prepared(for: ctx) as? LearnedBilinear)
        #expect(m.name == "learned-both" && m.fitted!.weights.rows == 2 * d && m.fitted!.weights.cols == d)
        // Scoring one user builds the same left rows as the fit did.
        let s = m.similarities(items: [0, 1], user: u, context: ctx)
        let expected = Kernels.gemm(Kernels.gemm(left.rows(u.rationales), m.fitted!.weights), gather(ctx.catalog.embeddings!, [0, 1]), transposeB: true)
        for i in 0..<2 { for j in 0..<u.rationales.count { #expect(abs(s[i, j] - (expected[j, i] + m.fitted!.bias)) < 1e-5) } }
    }

    @Test func controlsScoreOneColumnFromTheirOwnLeftSide() throws {
        let ctx = plantedWorld()
        let item = try LearnedControl(.item, iterations: 20).prepared(for: ctx)
        let hist = try LearnedControl(.history, iterations: 20).prepared(for: ctx)
        let u = ctx.users[0]
        let si = item.similarities(items: [1, 2, 3], user: u, context: ctx)
        #expect(si.cols == 1)
        // The item control does not depend on the user.
        #expect(si == item.similarities(items: [1, 2, 3], user: ctx.users[1], context: ctx))
        let sh = hist.similarities(items: [1, 2, 3], user: u, context: ctx)
        #expect(sh.cols == 1 && sh != hist.similarities(items: [1, 2, 3], user: ctx.users[1], context: ctx))
        #expect(!item.usesRationales && !hist.usesRationales)
    }
}

@Suite struct SpecificitySoftmaxTests {
    @Test func combinedScoreIsTheWeightedSoftmaxOfCosines() throws {
        let (ctx, u) = randomContext()
        let t = 0.1
        let m = try #require(try SpecificitySoftmax(temperature: t).prepared(for: ctx) as? SpecificitySoftmax)
        let spec = try #require(m.specificity)
        let cos = SBERTCosine().similarities(items: [2, 9], user: u, context: ctx)
        let s = m.similarities(items: [2, 9], user: u, context: ctx)
        let w = u.rationales.map { Double(spec[$0]) }
        let total = w.reduce(0, +)
        for row in 0..<2 {
            let expected = t * log((0..<6).reduce(0.0) { $0 + w[$1] / total * exp(Double(cos[row, $1]) / t) })
            let got = Double(m.combinedScore((0..<6).map { s[row, $0] }, user: u))
            #expect(abs(got - expected) < 1e-4)
        }
    }

    @Test func aBroadRationaleIsLessSpecificThanANarrowOne() {
        // Items cluster around axis 0; rationale 0 is that axis (near everything), rationale 1 is
        // one item's own direction off the cluster.
        var g = SeededGenerator(seed: 5)
        var rows: [[Float]] = []
        for _ in 0..<200 {
            var v = (0..<8).map { _ in Float(g.nextGaussian()) * 0.3 }
            v[0] += 1
            rows.append(v)
        }
        var odd = [Float](repeating: 0, count: 8); odd[5] = 1
        rows.append(odd)
        let catalog = ScoringCatalog(texts: rows.map { _ in "" }, embeddings: Matrix(rowArrays: rows))
        var broad = [Float](repeating: 0, count: 8); broad[0] = 1
        let rats = RationaleSet(texts: ["broad", "narrow"], embeddings: Matrix(rowArrays: [broad, odd]))
        let spec = SpecificitySoftmax.specificities(context: ScoringContext(catalog: catalog, rationales: rats), cutQuantile: 0.95)
        #expect(spec[1] > spec[0] + 1)
    }

    @Test func equalSpecificityLeavesCosinesAlone() throws {
        let (ctx, u) = randomContext()
        let m = try #require(try SpecificitySoftmax().prepared(for: ctx) as? SpecificitySoftmax)
        let same = SpecificitySoftmax(copying: m, specificity: [Float](repeating: 2, count: 6))
        #expect(same.similarities(items: [0, 1], user: u, context: ctx) == SBERTCosine().similarities(items: [0, 1], user: u, context: ctx))
    }
}

@Suite struct HybridTests {
    @Test func alphaOneIsTheCalibratedCosine() throws {
        let (ctx, u) = randomContext()
        let h = try LexicalSemanticHybrid(alpha: 1).prepared(for: ctx)
        let c = try CalibratedCosine().prepared(for: ctx)
        let a = h.similarities(items: [0, 5, 9], user: u, context: ctx), b = c.similarities(items: [0, 5, 9], user: u, context: ctx)
        for k in a.storage.indices { #expect(abs(a.storage[k] - b.storage[k]) < 1e-5) }
    }

    @Test func normalisedBM25StaysInTheUnitIntervalAndReachesOneOnTheRationaleItself() {
        let docs = ["waterproof hiking boot", "light trail shoe", "waterproof jacket", "boot boot boot waterproof hiking"]
        let catalog = ScoringCatalog(texts: docs)
        let rats = RationaleSet(texts: ["waterproof hiking boot", "zebra"])
        let ctx = ScoringContext(catalog: catalog, rationales: rats)
        func normalized(_ r: Int, _ items: [Int]) -> [Double] {
            let c = LexicalSemanticHybrid.ceiling(BM25(), rationale: ctx.rationales.texts[r], lexicon: ctx.catalog.lexicon)
            return LexicalSemanticHybrid.normalizedBM25(BM25(), rationale: r, items: items, context: ctx, ceiling: c)
        }
        let v = normalized(0, [0, 1, 2, 3])
        #expect(v.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(v[1] == 0 && v[0] > v[2])
        #expect(normalized(1, [0, 1]) == [0, 0])
    }

    @Test func alphaMovesTheScoreBetweenItsHalves() throws {
        let (ctx, u) = randomContext()
        let lo = try LexicalSemanticHybrid(alpha: 0).prepared(for: ctx).similarities(items: [3], user: u, context: ctx)
        let hi = try LexicalSemanticHybrid(alpha: 1).prepared(for: ctx).similarities(items: [3], user: u, context: ctx)
        let mid = try LexicalSemanticHybrid(alpha: 0.5).prepared(for: ctx).similarities(items: [3], user: u, context: ctx)
        for j in 0..<6 { #expect(abs(mid[0, j] - (lo[0, j] + hi[0, j]) / 2) < 1e-4) }
    }
}

@Suite struct TunableRegistryTests {
    @Test func variantNamesResolveAndUnknownVariantsAreRefused() throws {
        let r = MetricRegistry.standard
        #expect(try r.metric(named: "spec-softmax:temperature=0.1").name == "spec-softmax:temperature=0.1")
        #expect(try r.metric(named: "learned-bilinear:l2=1e-06").name == "learned-bilinear:l2=1e-06")
        #expect(try r.metric(named: "hybrid:alpha=0.25").name == "hybrid:alpha=0.25")
        #expect(throws: MetricError.self) { try r.metric(named: "spec-softmax:temperature=7") }
        // Every variant of every tunable metric has a distinct name that resolves back to itself.
        for m in r.metrics {
            let names = m.sweepConfigurations.map(\.name)
            #expect(Set(names).count == names.count)
            for n in names { #expect(try r.metric(named: n).name == n) }
        }
    }
}
