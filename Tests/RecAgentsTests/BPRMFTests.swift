import Foundation
import Testing
import RecKit
@testable import RecAgents

@Suite struct FullRankingTests {
    @Test func topKSkipsMaskedItemsAndBreaksTiesByIndex() {
        let s: [Float] = [0.5, 0.9, 0.9, 0.1, 0.7]
        #expect(TopK.rank(s, excluding: [], k: 3) == [1, 2, 4])
        #expect(TopK.rank(s, excluding: [1], k: 3) == [2, 4, 0])
        #expect(TopK.rank(s, excluding: [0, 1, 2, 3, 4], k: 10) == [])
        // The bounded insertion equals the full sort's prefix, ties by index, on many draws.
        var g = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            let n = 1 + g.nextIndex(40), k = 1 + g.nextIndex(12)
            let v = (0..<n).map { _ in Float(g.nextIndex(6)) }  // few values: many ties
            let ex = Set((0..<n).filter { _ in g.nextIndex(4) == 0 })
            let sorted = v.indices.filter { !ex.contains($0) }.sorted { v[$0] != v[$1] ? v[$0] > v[$1] : $0 < $1 }
            #expect(TopK.rank(v, excluding: ex, k: k) == Array(sorted.prefix(k)))
        }
    }

    /// One user, scores fixed by hand: the test part masks training and validation items, and
    /// NDCG@k's ideal DCG counts min(relevant, k) positions.
    @Test func ndcgAndHitMatchAHandComputation() throws {
        let d = try tinyWorld(users: 20, items: 40)
        var data = d
        data.users = [AgentUser(id: 7, history: [0], trainRatings: [0: 5, 1: 4], heldOut: [2: 5, 3: 4, 9: 3], test: [3: 4, 9: 3])]
        // Item scores: 40 − index, so items 0, 1, 2 (masked for test: train 0, 1; valid 2) would lead.
        let scores: (Int) -> [Float] = { _ in (0..<40).map { Float(40 - $0) } }
        let test = FullRankingEvaluation.evaluate(scores: scores, dataset: data, part: .test, k: 10)
        // Ranked: 3, 4, 5, …: item 3 at rank 0, item 9 at rank 6 (items 4…8 between).
        let dcg = 1 / log2(2.0) + 1 / log2(8.0)
        let ideal = 1 / log2(2.0) + 1 / log2(3.0)
        #expect(abs(test.ndcg - dcg / ideal) < 1e-12 && test.hit == 1 && test.rows.count == 1)
        let valid = FullRankingEvaluation.evaluate(scores: scores, dataset: data, part: .validation, k: 1)
        // Validation ranks everything but training items: item 2 first.
        #expect(valid.ndcg == 1 && valid.hit == 1)
    }
}

@Suite struct BPRMFTests {
    @Test func bprLearnsTheWorldBetterThanPopularityAndIsSeeded() throws {
        let d = try tinyWorld(users: 80, items: 120, ratings: 25...40)
        var c = BPRMF.Configuration()
        c.dimension = 16; c.learningRate = 0.01; c.batchSize = 256; c.maxEpochs = 60; c.patience = 8
        let a = try BPRMF(dataset: d, configuration: c)
        let b = try BPRMF(dataset: d, configuration: c)
        #expect(a.users == b.users && a.items == b.items && a.bestEpoch == b.bestEpoch)
        #expect(a.validationCurve.count <= 60 && a.bestEpoch >= 1)
        let bpr = FullRankingEvaluation.evaluate(a, dataset: d, part: .test)
        let counts = d.users.reduce(into: [Float](repeating: 0, count: d.itemCount)) { acc, u in for i in u.trainRatings.keys { acc[i] += 1 } }
        let pop = FullRankingEvaluation.evaluate(scores: { _ in counts }, dataset: d, part: .test)
        #expect(bpr.ndcg.isFinite && bpr.hit.isFinite)
        // Random scores as the floor the model must clear; popularity as the baseline it should
        // at least match on a world whose ratings come from user-specific tastes.
        #expect(bpr.ndcg > pop.ndcg * 0.9, "BPR \(bpr.ndcg) vs popularity \(pop.ndcg)")
        var g = SeededGenerator(seed: 3)
        let random = FullRankingEvaluation.evaluate(scores: { _ in (0..<d.itemCount).map { _ in g.nextUnitFloat() } }, dataset: d, part: .test)
        #expect(bpr.ndcg > random.ndcg + 0.05, "BPR \(bpr.ndcg) vs random \(random.ndcg)")
    }

    @Test func impossibleSettingsAreRefusedByName() {
        var c = BPRMF.Configuration()
        c.learningRate = -1; c.patience = 0
        #expect(throws: AgentError.self) { try c.validate() }
        do { try c.validate() } catch { #expect("\(error)".contains("learning rate") && "\(error)".contains("patience")) }
    }
}
