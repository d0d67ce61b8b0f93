import RecKit

/// How many times each user appears in one bootstrap resample (1 for every user in the original
/// sample). A statistic of a user-resampled data set is a function of these multiplicities alone,
/// so statistics take `UserWeights` instead of a materialised copy of the data.
public struct UserWeights: Sendable, Hashable {
    /// Multiplicity per user index, as Double so it can scale sums directly.
    public let multiplicity: [Double]

    public init(multiplicity: [Double]) { self.multiplicity = multiplicity }

    /// Every user once: the original sample.
    public static func identity(userCount: Int) -> UserWeights {
        UserWeights(multiplicity: [Double](repeating: 1, count: userCount))
    }

    /// n users drawn with replacement from n.
    public static func resample(userCount n: Int, using g: inout SeededGenerator) -> UserWeights {
        var m = [Double](repeating: 0, count: n)
        for _ in 0..<n { m[g.nextIndex(n)] += 1 }
        return UserWeights(multiplicity: m)
    }

    public var userCount: Int { multiplicity.count }

    /// Per-observation weights, given the user of each observation.
    public func observationWeights(_ userOfObservation: [Int]) -> [Double] {
        userOfObservation.map { multiplicity[$0] }
    }
}

/// Pooled (x, y) pairs of many users, for statistics computed over all pairs (the global
/// correlations of issue 5) and resampled by user.
public struct UserGroupedPairs: Sendable {
    public let sample: PairedSample
    /// The user index of each pair.
    public let userOfPair: [Int]
    public let userCount: Int

    /// `groups[u]` holds user u's pairs.
    public init(_ groups: [(x: [Double], y: [Double])]) {
        var x: [Double] = [], y: [Double] = [], users: [Int] = []
        for (u, g) in groups.enumerated() {
            precondition(g.x.count == g.y.count, "user \(u): paired vectors differ in length")
            x += g.x; y += g.y
            users += [Int](repeating: u, count: g.x.count)
        }
        sample = PairedSample(x: x, y: y)
        userOfPair = users
        userCount = groups.count
    }

    public func pearson(_ w: UserWeights) -> Estimate { sample.pearson(weights: w.observationWeights(userOfPair)) }
    public func spearman(_ w: UserWeights) -> Estimate { sample.spearman(weights: w.observationWeights(userOfPair)) }
    public func kendallTauB(_ w: UserWeights) -> Estimate { sample.kendallTauB(weights: w.observationWeights(userOfPair)) }
}

/// Pooled scored observations with binary labels, resampled by user (global ROC-AUC).
public struct UserGroupedLabels: Sendable {
    public let sample: LabeledScores
    public let userOfObservation: [Int]
    public let userCount: Int

    public init(_ groups: [(scores: [Double], labels: [Bool])]) {
        var s: [Double] = [], l: [Bool] = [], users: [Int] = []
        for (u, g) in groups.enumerated() {
            precondition(g.scores.count == g.labels.count, "user \(u): one label per score")
            s += g.scores; l += g.labels
            users += [Int](repeating: u, count: g.scores.count)
        }
        sample = LabeledScores(scores: s, labels: l)
        userOfObservation = users
        userCount = groups.count
    }

    public func auc(_ w: UserWeights) -> Estimate { sample.auc(weights: w.observationWeights(userOfObservation)) }
}

/// One precomputed value per user (a per-user NDCG, a per-user Spearman ρ): the sufficient
/// statistic for their mean, so a resample costs O(users).
public struct UserValues: Sendable {
    public let values: [Estimate]

    public init(_ values: [Estimate]) { self.values = values }

    /// The weighted mean over users with a defined value; undefined users are left out of every
    /// resample just as they are left out of the point estimate.
    public func mean(_ w: UserWeights) -> Estimate {
        precondition(w.userCount == values.count, "one weight per user")
        var s = 0.0, n = 0.0
        for (v, m) in zip(values, w.multiplicity) where m > 0 {
            if case .value(let x) = v { s += m * x; n += m }
        }
        return n == 0 ? .undefined(reason: "no user with a defined value") : .value(s / n)
    }

    /// Per-user differences a − b over users where both are defined (for paired tests).
    public static func differences(_ a: UserValues, _ b: UserValues) -> [Double] {
        precondition(a.values.count == b.values.count, "paired per-user values differ in length")
        return zip(a.values, b.values).compactMap { p in
            guard let x = p.0.value, let y = p.1.value else { return nil }
            return x - y
        }
    }
}
