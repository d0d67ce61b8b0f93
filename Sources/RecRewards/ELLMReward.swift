import RecDistances
import RecKit
import RecNumerics

/// When a similarity counts as "the item achieves this rationale".
public enum RewardThreshold: Sendable, Hashable, Codable, CustomStringConvertible {
    /// One value for every rationale (ELLM: cosine 0.99 for open-ended goals, never calibrated).
    case absolute(Double)
    /// Per rationale: the q-quantile (0 < q < 1) of its similarity over the catalog, so the same
    /// q selects the same share of the catalog for broad and narrow rationales alike.
    case percentile(Double)

    public var description: String {
        switch self {
        case .absolute(let t): return "absolute \(t)"
        case .percentile(let q): return "catalog percentile \(q)"
        }
    }

    /// Parses "0.5" (absolute) or "p0.9" / "90%" (percentile).
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("p"), let q = Double(t.dropFirst()), q > 0, q < 1 { self = .percentile(q); return }
        if t.hasSuffix("%"), let q = Double(t.dropLast()), q > 0, q < 100 { self = .percentile(q / 100); return }
        guard let v = Double(t), v.isFinite else { return nil }
        self = .absolute(v)
    }
}

/// Whether the reward pays the similarity itself (ELLM) or 1 once the threshold is cleared.
public enum RewardPayout: String, Sendable, Hashable, Codable, CaseIterable {
    case similarity
    case binary
}

/// ELLM's reward configuration: threshold, payout, scale λ and achieved-goal filtering.
public struct ELLMRewardConfiguration: Sendable, Hashable, Codable {
    public var threshold: RewardThreshold
    public var payout: RewardPayout
    /// Multiplies the paid reward.
    public var scale: Double
    /// Remove a rationale for the rest of the episode once an item cleared its threshold (ELLM
    /// does this; it matters for its results).
    public var filterAchieved: Bool

    public init(threshold: RewardThreshold = .percentile(0.9), payout: RewardPayout = .similarity,
                scale: Double = 1, filterAchieved: Bool = true) {
        self.threshold = threshold
        self.payout = payout
        self.scale = scale
        self.filterAchieved = filterAchieved
    }
}

/// Per-rationale thresholds resolved against the catalog.
public struct ResolvedThresholds: Sendable {
    /// One threshold per rationale in the `RationaleSet`.
    public var values: [Float]

    /// Resolves `threshold` for every rationale. Percentiles are estimated on a seeded sample of
    /// at most `sampleSize` catalog items (all items when the catalog is smaller), scored with
    /// the metric itself so the threshold lives on the metric's own scale. 256 items put the 0.9
    /// quantile within about ±2 percentage points of the catalog's, at a fraction of the cost of
    /// scoring every rationale against the whole catalog with the token-level metrics.
    ///
    /// A rationale's threshold depends only on its text (column j of `similarities` compares the
    /// items with rationale j alone), so each distinct text is scored once: a user whose texts
    /// were all seen before copies their thresholds. (Scored user by user, copies of a text could
    /// differ in the last bit, as a GEMM column rounds differently beside other columns; now a
    /// text has one threshold.) The aspect reasoner's phrases recur across
    /// thousands of users, so this turns users × sample work into distinct texts × sample.
    /// Controls have no rationales and get no thresholds (every value is +∞).
    public static func resolve(_ threshold: RewardThreshold, metric: any DescriptionDistance, context: ScoringContext,
                               users: [UserQuery], sampleSize: Int = 256) throws -> ResolvedThresholds {
        let count = context.rationales.texts.count
        switch threshold {
        case .absolute(let t):
            if let r = metric.range, !r.contains(t) { throw MetricError.thresholdOutOfRange(metric: metric.name, threshold: t, range: r) }
            return ResolvedThresholds(values: [Float](repeating: Float(t), count: count))
        case .percentile(let q):
            guard q > 0, q < 1 else { throw MetricError.thresholdOutOfRange(metric: metric.name, threshold: q, range: 0...1) }
            var values = [Float](repeating: .infinity, count: count)
            guard metric.usesRationales, context.catalog.count > 0 else { return ResolvedThresholds(values: values) }
            var g = SeededGenerator(seed: context.seed).fork("threshold-sample")
            var sample = Array(0..<context.catalog.count)
            if sample.count > sampleSize { sample.shuffle(using: &g); sample = Array(sample.prefix(sampleSize)).sorted() }
            let texts = context.rationales.texts
            var byText: [String: Float] = [:]
            var col = [Float](repeating: 0, count: sample.count)
            for u in users where !u.rationales.isEmpty {
                if u.rationales.allSatisfy({ byText[texts[$0]] != nil }) {
                    for r in u.rationales { values[r] = byText[texts[r]]! }
                    continue
                }
                let s = metric.similarities(items: sample, user: u, context: context)
                for j in 0..<s.cols {
                    for i in 0..<s.rows { col[i] = s[i, j] }
                    col.sort()
                    let pos = q * Double(col.count - 1)
                    let lo = Int(pos.rounded(.down)), hi = min(lo + 1, col.count - 1)
                    let v = col[lo] + Float(pos - Double(lo)) * (col[hi] - col[lo])
                    let r = u.rationales.lowerBound + j
                    // The first user with a text fixes its threshold, whatever order users come in.
                    if let known = byText[texts[r]] { values[r] = known } else { byText[texts[r]] = v; values[r] = v }
                }
            }
            return ResolvedThresholds(values: values)
        }
    }
}

/// What one step of the ELLM reward decided.
public struct ELLMOutcome: Sendable, Hashable {
    /// The paid reward (0 when no active rationale cleared its threshold).
    public var reward: Double
    /// The largest similarity over the still-active rationales (nil when none is active).
    public var bestSimilarity: Double?
    /// Index (into the user's rationales) of the best active rationale.
    public var bestRationale: Int?
    /// Rationales that cleared their threshold at this step (removed when filtering).
    public var achieved: [Int]
}

/// ELLM's reward for recommendation: r = λ · max over the user's active rationales of
/// sim(item text, rationale) when that maximum clears the threshold, else 0 (or λ · 1 with the
/// binary payout). With achieved-goal filtering, every rationale that cleared its threshold is
/// removed until the episode ends, as ELLM removes achieved suggestions.
public struct ELLMReward: IntrinsicReward {
    public let configuration: ELLMRewardConfiguration
    public let metric: any DescriptionDistance
    public let context: ScoringContext
    public let thresholds: ResolvedThresholds
    let users: [Int64: UserQuery]
    private var current: UserQuery?
    private var achievedSet = Set<Int>()

    public var name: String { "ellm(\(metric.name))" }

    /// - Parameter metric: a metric already `prepared(for:)` the context.
    public init(configuration: ELLMRewardConfiguration, metric: any DescriptionDistance, context: ScoringContext,
                users: [UserQuery]) throws {
        try context.check(metric)
        self.configuration = configuration
        self.metric = metric
        self.context = context
        self.users = Dictionary(users.map { ($0.userID, $0) }, uniquingKeysWith: { a, _ in a })
        self.thresholds = try ResolvedThresholds.resolve(configuration.threshold, metric: metric, context: context, users: users)
    }

    /// Rationales of the current user achieved so far this episode (indices into their list).
    public var achieved: Set<Int> { achievedSet }

    public mutating func beginEpisode(user: Int64) {
        current = users[user]
        achievedSet.removeAll()
    }

    public mutating func reward(for item: Int) -> Double { step(item: item).reward }

    /// Scores one viewed item against the active rationales and updates the achieved set.
    public mutating func step(item: Int) -> ELLMOutcome {
        guard let u = current, !u.rationales.isEmpty else { return ELLMOutcome(reward: 0, achieved: []) }
        let s = metric.similarities(items: [item], user: u, context: context)
        let outcome = ELLMReward.decide(similarities: (0..<s.cols).map { s[0, $0] },
                                        thresholds: Array(thresholds.values[u.rationales]),
                                        excluded: achievedSet, configuration: configuration)
        if configuration.filterAchieved { achievedSet.formUnion(outcome.achieved) }
        return outcome
    }

    /// The reward rule on one item's similarities to a user's rationales. Pays the largest
    /// similarity among the rationales that cleared their thresholds, where clearing means
    /// strictly exceeding: a similarity equal to its threshold pays nothing, as in ELLM
    /// (Du et al. 2023: the reward is the similarity "if > T", else 0). With one absolute
    /// threshold this is ELLM's rule.
    public static func decide(similarities: [Float], thresholds: [Float], excluded: Set<Int> = [],
                              configuration: ELLMRewardConfiguration) -> ELLMOutcome {
        var best: (value: Float, index: Int)?
        var bestCleared: Float?
        var cleared: [Int] = []
        for (j, v) in similarities.enumerated() where !excluded.contains(j) {
            if best == nil || v > best!.value { best = (v, j) }
            if v > thresholds[j] {
                cleared.append(j)
                bestCleared = max(bestCleared ?? v, v)
            }
        }
        guard let b = best else { return ELLMOutcome(reward: 0, achieved: []) }
        var reward = 0.0
        if let c = bestCleared {
            reward = configuration.scale * (configuration.payout == .similarity ? Double(c) : 1)
        }
        return ELLMOutcome(reward: reward, bestSimilarity: Double(b.value), bestRationale: b.index, achieved: cleared)
    }
}
