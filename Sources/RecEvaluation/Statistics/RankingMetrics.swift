#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How items with equal scores are ordered before cutting the ranking at k.
///
/// Ties are common in this library (a thresholded reward is 0 for most items) and every rule
/// below gives a different NDCG; the rule is a parameter so a report can name it.
public enum TieRule: String, Sendable, Hashable, Codable, CaseIterable {
    /// The exact expectation over all orderings of each tied group, uniformly at random. Neither
    /// rewards nor punishes a scorer for ties; a constant scorer gets the random-ranking value.
    /// The default.
    case expected
    /// Within a tie, the least relevant items come first: a lower bound.
    case pessimistic
    /// Within a tie, the most relevant items come first: an upper bound (what a scorer that leaks
    /// the labels would get; never report it alone).
    case optimistic
    /// Within a tie, the caller's input order (a stable secondary key, e.g. item id).
    case stable
}

/// The gain of a relevant item in DCG.
public enum GainKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// RecBole's NDCG: every item with relevance > 0 has gain 1, ideal DCG counts
    /// min(#relevant, k) such items.
    case binary
    /// gain 2^rel − 1 (Järvelin & Kekäläinen; Burges et al.); ideal DCG sorts the grades.
    case graded
}

/// Top-k metrics of one user's ranking. Undefined (every field) when the user has no relevant
/// item, as RecBole drops such users from the mean.
public struct RankingScores: Sendable, Hashable, Codable {
    /// DCG@k / IDCG@k.
    public var ndcg: Estimate
    /// Relevant items in the top k / all relevant items.
    public var recall: Estimate
    /// 1 when any relevant item is in the top k (RecBole's Hit), an expectation under `.expected`.
    public var hit: Estimate
    /// 1 / rank of the first relevant item within the top k, 0 when none (RecBole's MRR@k).
    public var mrr: Estimate
    /// Relevant items in the top k / k (RecBole's Precision@k).
    public var precision: Estimate

    static func undefined(_ reason: String) -> RankingScores {
        let u = Estimate.undefined(reason: reason)
        return RankingScores(ndcg: u, recall: u, hit: u, mrr: u, precision: u)
    }
}

/// Full-ranking top-k metrics (RecBole's definitions) with an explicit tie rule.
public enum RankingEvaluation {
    /// Ranks all items by `scores` (higher first) and evaluates the top `k` against `relevance`
    /// (a grade per item; > 0 means relevant). Full ranking: pass every candidate item, not a
    /// sample of negatives (sampled metrics are inconsistent: Krichene & Rendle 2020).
    public static func evaluate(scores: [Double], relevance: [Double], k: Int,
                                gain: GainKind = .binary, ties: TieRule = .expected) -> RankingScores {
        precondition(scores.count == relevance.count, "one relevance grade per score")
        precondition(k >= 1, "k must be at least 1")
        if scores.contains(where: { $0.isNaN }) { return .undefined("score is NaN") }
        if relevance.contains(where: { $0.isNaN || $0 < 0 }) { return .undefined("relevance is NaN or negative") }
        let nRelevant = relevance.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        if nRelevant == 0 { return .undefined("no relevant item") }

        func gainOf(_ r: Double) -> Double {
            switch gain {
            case .binary: return r > 0 ? 1 : 0
            case .graded: return exp2(r) - 1
            }
        }
        func discount(_ position: Int) -> Double { 1 / log2(Double(position) + 2) }

        // Ideal DCG.
        var idcg = 0.0
        switch gain {
        case .binary:
            for p in 0..<min(nRelevant, k) { idcg += discount(p) }
        case .graded:
            let ideal = relevance.map(gainOf).sorted(by: >)
            for p in 0..<min(ideal.count, k) { idcg += ideal[p] * discount(p) }
        }

        // Tie groups, highest score first; members in input order.
        let order = Array(scores.indices).sorted { a, b in
            scores[a] > scores[b] || (scores[a] == scores[b] && a < b)
        }
        var dcg = 0.0, hits = 0.0
        var pNoHitYet = 1.0   // probability no relevant item has appeared in positions < start
        var mrr = 0.0
        var start = 0
        var i = 0
        while i < order.count && start < k {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            var group = Array(order[i...j])
            let g = group.count
            let inTop = min(g, k - start)           // positions of this group inside the top k
            let r = group.reduce(0) { $0 + (relevance[$1] > 0 ? 1 : 0) }

            if ties == .expected {
                // By symmetry each position of a uniformly shuffled group holds the group's mean
                // gain and is relevant with probability r/g, so DCG and hit counts are exact
                // expectations. Hit and MRR need the position of the first relevant item.
                let meanGain = group.reduce(0.0) { $0 + gainOf(relevance[$1]) } / Double(g)
                for p in 0..<inTop { dcg += meanGain * discount(start + p) }
                hits += Double(r) * Double(inTop) / Double(g)
                if r > 0 {
                    // P(first relevant at offset t) = P(first t irrelevant) · r / (g − t).
                    var pIrrelevantPrefix = 1.0
                    for t in 0..<inTop {
                        let pFirstHere = pIrrelevantPrefix * Double(r) / Double(g - t)
                        mrr += pNoHitYet * pFirstHere / Double(start + t + 1)
                        pIrrelevantPrefix *= Double(g - r - t) / Double(g - t)
                        if pIrrelevantPrefix <= 0 { break }
                    }
                    pNoHitYet *= max(0, pIrrelevantPrefix)
                }
            } else {
                switch ties {
                case .pessimistic:
                    group.sort { relevance[$0] < relevance[$1] || (relevance[$0] == relevance[$1] && $0 < $1) }
                case .optimistic:
                    group.sort { relevance[$0] > relevance[$1] || (relevance[$0] == relevance[$1] && $0 < $1) }
                case .stable, .expected:
                    break
                }
                for p in 0..<inTop {
                    let rel = relevance[group[p]]
                    dcg += gainOf(rel) * discount(start + p)
                    if rel > 0 {
                        hits += 1
                        if pNoHitYet > 0 { mrr = 1 / Double(start + p + 1); pNoHitYet = 0 }
                    }
                }
            }
            start += g
            i = j + 1
        }
        return RankingScores(
            ndcg: .checked(dcg / idcg, else: "ideal DCG is 0"),
            recall: .value(hits / Double(nRelevant)),
            hit: .value(1 - pNoHitYet),
            mrr: .value(mrr),
            precision: .value(hits / Double(k)))
    }

    /// NDCG@k alone (see `evaluate`).
    public static func ndcg(scores: [Double], relevance: [Double], k: Int,
                            gain: GainKind = .binary, ties: TieRule = .expected) -> Estimate {
        evaluate(scores: scores, relevance: relevance, k: k, gain: gain, ties: ties).ndcg
    }
}
