import Foundation
import RecEvaluation
import RecKit
import RecRewards

/// Why a validation stopped before computing statistics.
public enum RewardValidationError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// A metric produced a NaN or infinite score or reward: every statistic downstream would be
    /// silently wrong (a NaN sorts anywhere), so the run stops and names the first such pair.
    case nonFiniteScore(metric: String, user: String, item: String, what: String, value: Double)
    /// `--sweep` validated on the part it would select on.
    case invalidSweep(String)

    public var description: String {
        switch self {
        case .nonFiniteScore(let m, let u, let i, let what, let v):
            return "metric '\(m)' gave a non-finite \(what) (\(v)) for user \(u), item \(i); fix the metric or leave it out of --metrics"
        case .invalidSweep(let s): return s
        }
    }
    public var errorDescription: String? { description }
}

/// A catalog popularity stratum of the training counts.
public enum PopularityStratum: String, Sendable, Hashable, Codable, CaseIterable {
    case head, torso, tail
}

/// Tercile cut-points of the training interaction counts over the catalog items with at least one
/// training rating. Items, not held-out pairs, define the strata so that "tail" means the
/// catalog's long tail (the usual sense) and the valid and test parts of a split share the same
/// cut-points; the held-out pairs per stratum are therefore unequal (most held-out ratings fall
/// on head items) and the report gives their counts.
public struct PopularityStrata: Sendable, Hashable, Codable {
    /// Tail: count ≤ lowerCut.
    public var lowerCut: Double
    /// Head: count > upperCut; torso in between.
    public var upperCut: Double
    /// Catalog items with at least one training rating (the population of the quantiles).
    public var catalogItems: Int

    /// The ⅓ and ⅔ quantiles (numpy's default, linear interpolation) of the positive counts.
    /// Items without training ratings, which enter no quantile, fall in the tail.
    public init(trainingCounts: [Float]) {
        let positive = trainingCounts.filter { $0 >= 1 }.map(Double.init).sorted()
        catalogItems = positive.count
        func q(_ p: Double) -> Double {
            guard !positive.isEmpty else { return 0 }
            let h = Double(positive.count - 1) * p
            let i = Int(h.rounded(.down))
            if i + 1 >= positive.count { return positive[positive.count - 1] }
            return positive[i] + (h - Double(i)) * (positive[i + 1] - positive[i])
        }
        lowerCut = q(1.0 / 3)
        upperCut = q(2.0 / 3)
    }

    public func stratum(ofCount c: Double) -> PopularityStratum {
        c > upperCut ? .head : c > lowerCut ? .torso : .tail
    }
}

/// A metric's value beyond popularity on the held-out pairs.
public struct PopularityAdjustment: Sendable, Codable {
    /// AUC of the cross-fitted "liked ~ popularity + score" predictions.
    public var fullModelAUC: BootstrapEstimate
    /// fullModelAUC − AUC of "liked ~ popularity", paired on the same user resamples, with the
    /// bootstrap p-value of "no increment".
    public var incrementalAUC: PairedDifference
    /// Spearman's partial rank correlation of score and rating given popularity.
    public var partialSpearman: BootstrapEstimate
    /// The same per popularity stratum (head, torso, tail).
    public var strata: [StratumFigures]
    /// The increment's p-value after Holm's correction over the run's metrics (family
    /// `RewardValidation.popularityFamily`); undefined for the popularity control, whose increment
    /// over itself is 0 by construction and is left out of the family.
    public var holmPValue: Estimate = .undefined(reason: "not tested (the popularity control itself)")
    /// Holm's m: the metrics in the family with a defined p-value.
    public var holmFamilySize: Int = 0
}

/// One metric's figures within one popularity stratum.
public struct StratumFigures: Sendable, Codable {
    public var stratum: PopularityStratum
    /// AUC of the metric's raw score within the stratum.
    public var auc: BootstrapEstimate
    public var fullModelAUC: BootstrapEstimate
    public var incrementalAUC: PairedDifference
}

/// What the popularity adjustment shares between metrics: the strata, the folds and the
/// popularity-only model.
public struct PopularityBaseline: Sendable, Codable {
    public var strata: PopularityStrata
    /// Folds of users of the cross-fitting.
    public var folds: Int
    /// Out-of-fold AUC of "liked ~ popularity" over all pairs.
    public var modelAUC: BootstrapEstimate
    /// Per stratum: held-out pairs, liked pairs, and the popularity model's AUC within it.
    public var strataFigures: [BaselineStratum]

    public struct BaselineStratum: Sendable, Codable {
        public var stratum: PopularityStratum
        public var pairs: Int
        public var liked: Int
        public var modelAUC: BootstrapEstimate
    }
}

/// Builds the popularity-adjusted statistics for the user bootstrap and reads them back.
///
/// The cross-fitting assigns users to folds once (seeded); the bootstrap then resamples users over
/// the fixed out-of-fold predictions, as the issue asks, rather than refitting per resample: the
/// interval covers the sampling of users given the fitted predictions.
struct PopularityAdjustmentPlan: Sendable {
    let groups: [[Int]]
    let liked: [Bool]
    let ratings: [Double]
    let popularity: [Double]
    let stratumOfPair: [PopularityStratum]
    let strata: PopularityStrata
    let folds: Int
    let foldOfUser: [Int]
    let userOfPair: [Int]
    /// Out-of-fold scores of the popularity-only model (`CrossFitting.outOfFoldScores`).
    let baseScores: [Double]

    /// Statistics per metric, after the shared ones.
    static let perMetric = 2 + 2 * PopularityStratum.allCases.count
    static let shared = 2 + PopularityStratum.allCases.count

    init(setup: ScoringSetup, groups: [[Int]], liked: [Bool], folds requested: Int, seed: UInt64) {
        self.groups = groups
        self.liked = liked
        ratings = setup.pairs.map(\.rating)
        let counts = setup.context.catalog.popularity
        // The popularity control's score, log(1 + training count), in the same Float arithmetic.
        popularity = setup.pairs.map { Double(log1pf(counts[$0.item])) }
        let strata = PopularityStrata(trainingCounts: counts)
        self.strata = strata
        stratumOfPair = setup.pairs.map { strata.stratum(ofCount: Double(counts[$0.item])) }
        let folds = max(1, min(requested, groups.count))
        self.folds = folds
        foldOfUser = CrossFitting.userFolds(userCount: groups.count, folds: folds, seed: seed)
        var users = [Int](repeating: 0, count: liked.count)
        for (u, g) in groups.enumerated() { for k in g { users[k] = u } }
        userOfPair = users
        baseScores = folds >= 2
            ? CrossFitting.outOfFoldScores(columns: [popularity], labels: liked, userOfObservation: users,
                                            foldOfUser: self.foldOfUser, folds: folds)
            : []
    }

    /// Out-of-fold scores of "liked ~ popularity + score" (empty with fewer than two folds).
    func fullScores(_ score: [Double]) -> [Double] {
        guard folds >= 2 else { return [] }
        return CrossFitting.outOfFoldScores(columns: [popularity, score], labels: liked, userOfObservation: userOfPair,
                                             foldOfUser: foldOfUser, folds: folds)
    }

    /// AUC of `values` over the pairs of `stratum` (all pairs when nil), resampled by user.
    func aucStatistic(_ values: [Double], stratum: PopularityStratum?) -> @Sendable (UserWeights) -> Estimate {
        guard !values.isEmpty else {
            return { _ in .undefined(reason: "cross-fitting needs at least 2 users") }
        }
        let labels = UserGroupedLabels(groups.map { g in
            let kept = stratum.map { s in g.filter { stratumOfPair[$0] == s } } ?? g
            return (scores: kept.map { values[$0] }, labels: kept.map { liked[$0] })
        })
        return labels.auc
    }

    /// The shared statistics: the popularity model's AUC overall, then per stratum, then Spearman's
    /// ρ of rating and popularity (an input of every metric's partial correlation).
    func sharedStatistics() -> [@Sendable (UserWeights) -> Estimate] {
        let ratingPopularity = UserGroupedPairs(groups.map { g in (x: g.map { ratings[$0] }, y: g.map { popularity[$0] }) })
        return [aucStatistic(baseScores, stratum: nil)] + PopularityStratum.allCases.map { aucStatistic(baseScores, stratum: $0) }
            + [ratingPopularity.spearman]
    }

    /// One metric's statistics: full-model AUC, Spearman's ρ of score and popularity, then per
    /// stratum the raw AUC and the full-model AUC. The partial correlation is combined from the
    /// replicates of ρ(score, rating), ρ(score, popularity) and ρ(rating, popularity) afterwards
    /// (`BootstrapReplicates.combined`), which saves two rank correlations per resample.
    func metricStatistics(score: [Double]) -> [@Sendable (UserWeights) -> Estimate] {
        let full = fullScores(score)
        let scorePopularity = UserGroupedPairs(groups.map { g in (x: g.map { score[$0] }, y: g.map { popularity[$0] }) })
        var out: [@Sendable (UserWeights) -> Estimate] = [aucStatistic(full, stratum: nil), scorePopularity.spearman]
        for s in PopularityStratum.allCases { out += [aucStatistic(score, stratum: s), aucStatistic(full, stratum: s)] }
        return out
    }

    func baseline(_ r: BootstrapReplicates, at start: Int) -> PopularityBaseline {
        PopularityBaseline(strata: strata, folds: folds, modelAUC: r.estimate(start),
                           strataFigures: PopularityStratum.allCases.enumerated().map { k, s in
                               let pairs = stratumOfPair.indices.filter { stratumOfPair[$0] == s }
                               return PopularityBaseline.BaselineStratum(stratum: s, pairs: pairs.count, liked: pairs.filter { liked[$0] }.count,
                                            modelAUC: r.estimate(start + 1 + k))
                           })
    }

    /// Reads a metric's adjustment back; `scoreRatingSpearman` is the index of its ρ(score, rating).
    func adjustment(_ r: BootstrapReplicates, shared: Int, at start: Int, scoreRatingSpearman: Int) -> PopularityAdjustment {
        PopularityAdjustment(
            fullModelAUC: r.estimate(start), incrementalAUC: r.difference(start, shared),
            partialSpearman: r.combined([scoreRatingSpearman, start + 1, shared + 1 + PopularityStratum.allCases.count]) {
                UserGroupedPartialSpearman.combine(.value($0[0]), .value($0[1]), .value($0[2]))
            },
            strata: PopularityStratum.allCases.enumerated().map { k, s in
                StratumFigures(stratum: s, auc: r.estimate(start + 2 + 2 * k), fullModelAUC: r.estimate(start + 3 + 2 * k),
                               incrementalAUC: r.difference(start + 3 + 2 * k, shared + 1 + k))
            })
    }

    /// Point estimates only (the sweep): incremental AUC and partial Spearman.
    func points(score: [Double]) -> (incrementalAUC: Estimate, partialSpearman: Estimate) {
        let one = UserWeights.identity(userCount: groups.count)
        let full = aucStatistic(fullScores(score), stratum: nil)(one)
        let base = aucStatistic(baseScores, stratum: nil)(one)
        let inc: Estimate
        switch (full, base) {
        case (.value(let a), .value(let b)): inc = .value(a - b)
        case (.undefined(let r), _), (_, .undefined(let r)): inc = .undefined(reason: r)
        }
        let partial = UserGroupedPartialSpearman(groups.map { g in
            (x: g.map { score[$0] }, y: g.map { ratings[$0] }, z: g.map { popularity[$0] })
        })
        return (inc, partial.estimate(one))
    }
}

extension RewardValidation {
    /// Stops on the first non-finite score or reward, naming the metric and the pair.
    static func checkFinite(_ scores: [PairScores], setup: ScoringSetup) throws {
        for s in scores {
            for (what, values) in [("score", s.score), ("reward", s.reward)] {
                guard let k = values.firstIndex(where: { !$0.isFinite }) else { continue }
                let p = setup.pairs[k]
                throw RewardValidationError.nonFiniteScore(metric: s.metric, user: setup.userExternalIDs[p.userID] ?? String(p.userID),
                                                           item: setup.itemExternalIDs[p.item], what: what, value: values[k])
            }
        }
    }
}
