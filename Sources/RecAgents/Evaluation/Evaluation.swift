import Foundation
import RecKit
import RecNumerics

/// Something that scores every catalog item for a user in a state; the evaluator ranks by it.
public protocol RecommendationPolicy: Sendable {
    var name: String { get }
    /// One score per catalog item (higher is better) for `user` at session step `step` with recent history `history`.
    mutating func scores(user: Int, step: Int, history: [Int32]) -> [Float]
    /// The same, knowing which of the user's rationales the session has achieved (bit j: the
    /// j-th); only a goal-conditioned agent looks at it, the default ignores it.
    mutating func scores(user: Int, step: Int, history: [Int32], achieved: UInt32) -> [Float]
}

extension RecommendationPolicy {
    public mutating func scores(user: Int, step: Int, history: [Int32], achieved: UInt32) -> [Float] {
        scores(user: user, step: step, history: history)
    }
}

/// The trained DQN, greedy: on its Q-values, or, with an SQN supervised head, on that head's
/// logits (SQN recommends with the supervised head; the Q head shapes the shared state tower).
public struct DQNPolicy: RecommendationPolicy {
    public var agent: DQNAgent
    public let name: String
    public init(agent: DQNAgent, name: String = "dqn") { self.agent = agent; self.name = name }
    public mutating func scores(user: Int, step: Int, history: [Int32]) -> [Float] { scores(user: user, step: step, history: history, achieved: 0) }
    public mutating func scores(user: Int, step: Int, history: [Int32], achieved: UInt32) -> [Float] {
        agent.supervisedScores(user: user, step: step, history: history, achieved: achieved)
            ?? agent.qValues(user: user, step: step, history: history, achieved: achieved)
    }
}

/// Uniformly random scores from a seeded generator.
public struct RandomPolicy: RecommendationPolicy {
    var rng: SeededGenerator
    let items: Int
    public init(items: Int, seed: UInt64) { self.items = items; rng = SeededGenerator(seed: seed).fork("random-policy") }
    public var name: String { "random" }
    public mutating func scores(user: Int, step: Int, history: [Int32]) -> [Float] { (0..<items).map { _ in rng.nextUnitFloat() } }
}

/// Training-split interaction counts.
public struct PopularityPolicy: RecommendationPolicy {
    let popularity: [Float]
    public init(dataset: AgentDataset) { popularity = dataset.popularity.map(Float.init) }
    public var name: String { "popularity" }
    public func scores(user: Int, step: Int, history: [Int32]) -> [Float] { popularity }
}

/// BPR-MF's scores ⟨U_u, V_i⟩: the collaborative non-RL baseline, in the agents' evaluation
/// protocol (``FullRankingEvaluation`` is RecBole's, for the published anchor).
public struct BPRPolicy: RecommendationPolicy {
    let model: BPRMF
    /// A user's scores do not depend on the session's state: computed once per user, not per step.
    var cache: [Int: [Float]] = [:]
    public init(model: BPRMF) { self.model = model }
    public var name: String { "bpr-mf" }
    public mutating func scores(user: Int, step: Int, history: [Int32]) -> [Float] {
        if let s = cache[user] { return s }
        let s = model.scores(user: user)
        cache[user] = s
        return s
    }
}

/// The fitted MF model's predicted rating (its top unseen item first).
public struct MFGreedyPolicy: RecommendationPolicy {
    let model: MatrixFactorization
    public init(model: MatrixFactorization) { self.model = model }
    public var name: String { "mf-greedy" }
    public func scores(user: Int, step: Int, history: [Int32]) -> [Float] { (0..<model.items).map { Float(model.predict(user: user, item: $0)) } }
}

/// One evaluation user's figures: the rows a researcher re-analyses (`users.csv`) and the unit of
/// the paired tests between methods.
public struct UserEvaluation: Sendable, Hashable, Codable {
    /// The user's external id.
    public var user: String
    /// HR@k and NDCG@k of the ranking from the session's starting state; nil when the user has no
    /// liked test item (the user is then left out of HR and NDCG, as in RecBole).
    public var hit: Double?
    public var ndcg: Double?
    /// Mean simulated rating and liked share over the user's greedy session.
    public var meanRating: Double
    public var likedShare: Double
    /// Rationales achieved in the session (nil without rationales).
    public var rationalesAchieved: Double?

    public init(user: String, hit: Double?, ndcg: Double?, meanRating: Double, likedShare: Double, rationalesAchieved: Double?) {
        self.user = user; self.hit = hit; self.ndcg = ndcg; self.meanRating = meanRating; self.likedShare = likedShare
        self.rationalesAchieved = rationalesAchieved
    }

    /// The per-user metrics, by the names of ``EvaluationResult/metricNames``.
    public static let metricNames = ["hr@10", "ndcg@10", "mean_rating", "liked_share", "rationales_achieved"]
    public func value(_ metric: String) -> Double? {
        switch metric {
        case "hr@10": return hit
        case "ndcg@10": return ndcg
        case "mean_rating": return meanRating
        case "liked_share": return likedShare
        case "rationales_achieved": return rationalesAchieved
        default: return nil
        }
    }
}

/// Evaluation metrics of one policy on the held-out users.
public struct EvaluationResult: Sendable, Hashable, Codable {
    /// Mean simulated rating per recommendation over the evaluation sessions.
    public var meanRating: Double
    /// Share of evaluation recommendations the user liked (rating ≥ like threshold).
    public var likedShare: Double
    public var hitRate: Double
    public var ndcg: Double
    public var k: Int
    /// Distinct items recommended in the sessions / catalog size.
    public var coverage: Double
    /// Mean self-information −log₂ p(i) of recommended items, p from smoothed training popularity.
    public var novelty: Double
    /// Rationales achieved per session (nil when the users have no rationales).
    public var rationalesAchieved: Double?
    public var sessions: Int
    public var rankedUsers: Int
    /// One row per evaluation user, in evaluation order (nil in results stored before they were kept).
    public var perUser: [UserEvaluation]?

    public static let metricNames = ["mean_rating", "liked_share", "hr@10", "ndcg@10", "coverage", "novelty", "rationales_achieved"]
    public func value(_ metric: String) -> Double? {
        switch metric {
        case "mean_rating": return meanRating
        case "liked_share": return likedShare
        case "hr@10": return hitRate
        case "ndcg@10": return ndcg
        case "coverage": return coverage
        case "novelty": return novelty
        case "rationales_achieved": return rationalesAchieved
        default: return nil
        }
    }
}

/// RecBole's top-k metrics for one user with binary relevance.
public enum TopK {
    /// Items ranked by descending score (ties: lower index first), excluding `excluded`; top `k`.
    ///
    /// A bounded insertion into the k best so far, O(n·k) instead of sorting the whole catalog:
    /// full-ranking evaluation calls it once per user per epoch. An item enters only when strictly
    /// better than the current k-th, and goes after the items it ties with, which are earlier in
    /// index order, so the result is the sort's prefix.
    public static func rank(_ scores: [Float], excluding excluded: Set<Int>, k: Int) -> [Int] {
        var top: [Int] = []
        top.reserveCapacity(k + 1)
        for i in scores.indices where !excluded.contains(i) {
            if top.count == k, let last = top.last, !(scores[i] > scores[last]) { continue }
            var pos = top.count
            while pos > 0 && scores[i] > scores[top[pos - 1]] { pos -= 1 }
            top.insert(i, at: pos)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    /// HR@k: 1 when any relevant item is in the top k.
    public static func hit(_ ranking: [Int], relevant: Set<Int>) -> Double { ranking.contains(where: relevant.contains) ? 1 : 0 }

    /// NDCG@k: DCG of binary gains over the ideal DCG of min(|relevant|, k) hits at the top.
    public static func ndcg(_ ranking: [Int], relevant: Set<Int>, k: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        var dcg = 0.0
        for (r, i) in ranking.prefix(k).enumerated() where relevant.contains(i) { dcg += 1 / log2(Double(r + 2)) }
        var idcg = 0.0
        for r in 0..<min(relevant.count, k) { idcg += 1 / log2(Double(r + 2)) }
        return dcg / idcg
    }
}

/// Evaluates policies on held-out users: one greedy session of T steps per user in the
/// simulator (mean rating, coverage, novelty, rationales achieved) and a full ranking of the
/// catalog from the session's starting state (HR@k, NDCG@k against the user's test items rated ≥
/// the like threshold; training-history items are excluded from the ranking). Scored on the
/// validation part instead (for choosing hyperparameters), the relevant items are the liked
/// validation items and the sessions' simulator answers without test ratings.
public struct Evaluator: Sendable {
    public let simulator: UserSimulator
    public let users: [Int]
    public let episodeLength: Int
    public let historyLength: Int
    public let observedOnly: Bool
    public let k: Int
    /// Counts rationales achieved per session (nil when the dataset has no rationales).
    public let ellm: ELLMAgentReward?
    /// The held-out part the ranking is scored on.
    public let part: FullRankingEvaluation.Part

    public init(simulator: UserSimulator, users: [Int], episodeLength: Int, historyLength: Int, observedOnly: Bool = false,
                k: Int = 10, ellm: ELLMAgentReward?, part: FullRankingEvaluation.Part = .test) {
        self.simulator = simulator; self.users = users; self.episodeLength = episodeLength; self.historyLength = historyLength
        self.observedOnly = observedOnly; self.k = k; self.ellm = ellm; self.part = part
    }

    /// The user's liked items of the scored part.
    func relevantItems(_ user: AgentUser, likeThreshold: Double) -> Set<Int> {
        switch part {
        case .test: return Set(user.test.filter { $0.value >= likeThreshold }.keys)
        case .validation: return Set(user.validation.filter { $0.value >= likeThreshold }.keys)
        }
    }

    public func evaluate(_ policy: inout some RecommendationPolicy) throws -> EvaluationResult {
        let d = simulator.dataset
        let sessionSimulator = part == .test ? simulator : simulator.hidingHeldOutRatings(test: true, validation: false)
        var env = try RecommendationEnvironment(simulator: sessionSimulator, episodeLength: episodeLength, historyLength: historyLength, observedOnly: observedOnly)
        let totalTrain = Double(d.popularity.reduce(0, +))
        let selfInfo = d.popularity.map { -log2((Double($0) + 1) / (totalTrain + Double(d.itemCount))) }
        var ratingSum = 0.0, likedCount = 0, steps = 0, noveltySum = 0.0
        var hitSum = 0.0, ndcgSum = 0.0, ranked = 0, achievedSum = 0.0, sessions = 0, sessionsWithRationales = 0
        var shown = Set<Int>()
        var ellm = self.ellm
        var rows: [UserEvaluation] = []
        rows.reserveCapacity(users.count)
        for u in users {
            try env.reset(user: u)
            // Ranking from the starting state.
            let relevant = relevantItems(d.users[u], likeThreshold: d.scale.likeThreshold)
            var hit: Double?, ndcg: Double?
            if !relevant.isEmpty {
                let s = policy.scores(user: u, step: env.step, history: env.recentHistory)
                let ranking = TopK.rank(s, excluding: Set(d.users[u].history), k: k)
                hit = TopK.hit(ranking, relevant: relevant)
                ndcg = TopK.ndcg(ranking, relevant: relevant, k: k)
                hitSum += hit!
                ndcgSum += ndcg!
                ranked += 1
            }
            // One greedy session.
            let hasRationales = !d.rationaleRanges[u].isEmpty
            if hasRationales { ellm?.beginEpisode(user: d.users[u].id) }
            var userRating = 0.0, userLiked = 0, userSteps = 0
            while !env.done {
                let achieved = hasRationales ? (ellm?.achievedMask ?? 0) : 0
                let s = policy.scores(user: u, step: env.step, history: env.recentHistory, achieved: achieved)
                var best = -1
                for i in s.indices where env.allowed[i] && (best < 0 || s[i] > s[best]) { best = i }
                let r = env.recommend(best)
                ratingSum += r.rating
                userRating += r.rating
                if r.liked { likedCount += 1; userLiked += 1 }
                noveltySum += selfInfo[best]
                shown.insert(best)
                steps += 1
                userSteps += 1
                if hasRationales { _ = ellm?.reward(for: best) }
            }
            var achieved: Double?
            if hasRationales, let e = ellm {
                achieved = Double(e.achievedThisEpisode)
                achievedSum += achieved!
                sessionsWithRationales += 1
            }
            sessions += 1
            rows.append(UserEvaluation(user: d.users[u].externalID, hit: hit, ndcg: ndcg, meanRating: userRating / Double(max(userSteps, 1)),
                                       likedShare: Double(userLiked) / Double(max(userSteps, 1)), rationalesAchieved: achieved))
        }
        return EvaluationResult(meanRating: ratingSum / Double(max(steps, 1)), likedShare: Double(likedCount) / Double(max(steps, 1)),
                                hitRate: ranked > 0 ? hitSum / Double(ranked) : .nan, ndcg: ranked > 0 ? ndcgSum / Double(ranked) : .nan, k: k,
                                coverage: Double(shown.count) / Double(d.itemCount), novelty: noveltySum / Double(max(steps, 1)),
                                rationalesAchieved: (ellm != nil && sessionsWithRationales > 0) ? achievedSum / Double(sessionsWithRationales) : nil,
                                sessions: sessions, rankedUsers: ranked, perUser: rows)
    }
}
