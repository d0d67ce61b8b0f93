/// The mean of a per-user statistic over the users for whom it is defined, with the users left
/// out counted by reason, so a report can say "mean over 812 users; 131 had fewer than 3 held-out
/// ratings, 9 rated everything alike".
public struct PerUserMean: Sendable, Hashable, Codable {
    /// The mean over included users; undefined when no user is included.
    public var mean: Estimate
    /// Users whose value entered the mean.
    public var included: Int
    /// Users left out, by reason (e.g. "fewer than 3 held-out ratings": 131).
    public var excluded: [String: Int]

    public var excludedTotal: Int { excluded.values.reduce(0, +) }

    /// Mean of the defined estimates; every undefined one is counted under its reason.
    public init(_ estimates: [Estimate]) {
        var sum = 0.0, n = 0
        var excluded: [String: Int] = [:]
        for e in estimates {
            switch e {
            case .value(let v): sum += v; n += 1
            case .undefined(let r): excluded[r, default: 0] += 1
            }
        }
        self.included = n
        self.excluded = excluded
        self.mean = n == 0 ? .undefined(reason: "no user with a defined value") : .value(sum / Double(n))
    }
}

/// Per-user correlations.
public enum PerUserCorrelation {
    /// The reason recorded for users below `minimumCount`.
    public static func tooFewReason(_ minimumCount: Int) -> String {
        "fewer than \(minimumCount) held-out ratings"
    }

    /// Spearman's ρ of each user's (x, y) pairs; users with fewer than `minimumCount` pairs are
    /// `.undefined(tooFewReason(minimumCount))`, users with a constant vector are undefined too.
    public static func spearmanPerUser(_ groups: [(x: [Double], y: [Double])], minimumCount: Int = 3) -> [Estimate] {
        precondition(minimumCount >= 2, "a correlation needs at least 2 pairs")
        return groups.map { g in
            g.x.count < minimumCount ? .undefined(reason: tooFewReason(minimumCount)) : Correlation.spearman(g.x, g.y)
        }
    }

    /// The mean per-user Spearman ρ over users with ≥ `minimumCount` pairs and a defined ρ.
    public static func meanSpearman(_ groups: [(x: [Double], y: [Double])], minimumCount: Int = 3) -> PerUserMean {
        PerUserMean(spearmanPerUser(groups, minimumCount: minimumCount))
    }
}
