import Foundation
import RecData
import RecDistances
import RecEvaluation
import RecKit
import RecNumerics
import RecRewards

/// Everything that determines a validation run; stored with the report so it can be reproduced.
public struct RewardValidationConfiguration: Sendable, Codable, Hashable {
    public var dataset: String
    public var split: String
    /// Which held-out part to validate against ("test" or "valid").
    public var heldOutPart: String = "test"
    public var reasoner: String
    /// The rationale run used (its id in the rationale store), when known.
    public var rationaleRun: Int64?
    public var metrics: [String]
    public var threshold: RewardThreshold = .percentile(0.9)
    public var payout: RewardPayout = .similarity
    public var scale: Double = 1
    /// Cut-off of the ranking metrics.
    public var k: Int = 10
    /// Users need at least this many held-out ratings to enter the mean per-user Spearman.
    public var minimumRatingsPerUser: Int = 3
    public var bootstrapResamples: Int = 1000
    public var permutations: Int = 10_000
    /// The no-rationale control every metric is tested against (Holm family "vs-control").
    public var baseline: String = "centroid-cosine"
    /// ELLM's own metric, the second reference every metric is tested against (family "vs-ellm").
    public var ellmMetric: String = "sbert-cosine"
    /// Further pairs (A, B) to test A − B on, in their own Holm family "requested" — for the
    /// questions the two standard families do not ask, such as `learned-both` against
    /// `learned-history` (does the rationale add to the history it was written from?).
    public var requestedComparisons: [ComparisonRequest] = []
    public var seed: UInt64 = 1
    /// Identity of the sentence encoder (its model id), when one was used.
    public var encoder: String?
    public var likeThreshold: Double = 4
    /// Folds of users for the cross-fitted popularity adjustment (incremental AUC over popularity).
    public var crossFitFolds: Int = 5
    /// When set, only users with at least one rationale in each of these runs were validated
    /// (as well as in `rationaleRun`): how runs over different user sets are compared fairly.
    public var usersOfRuns: [Int64]?
    /// Per-metric reward thresholds that replace `threshold` (a sweep's picks), by metric name.
    public var thresholdOverrides: [String: RewardThreshold] = [:]

    /// The reward threshold metric `name` runs with.
    public func threshold(for name: String) -> RewardThreshold { thresholdOverrides[name] ?? threshold }

    public init(dataset: String, split: String, reasoner: String, metrics: [String]) {
        self.dataset = dataset
        self.split = split
        self.reasoner = reasoner
        self.metrics = metrics
    }
}

/// A paired comparison asked for by name: metric `a` against metric `b`.
public struct ComparisonRequest: Sendable, Codable, Hashable {
    public var a: String
    public var b: String
    public init(a: String, b: String) { self.a = a; self.b = b }
}

/// One metric's agreement with held-out ratings.
public struct MetricValidation: Sendable, Codable {
    public var metric: String
    public var summary: String
    public var usesRationales: Bool
    public var pearson: BootstrapEstimate
    public var spearman: BootstrapEstimate
    public var kendallTauB: BootstrapEstimate
    /// Mean over users with enough held-out ratings of the per-user Spearman ρ.
    public var meanUserSpearman: BootstrapEstimate
    public var usersInMeanSpearman: Int
    public var auc: BootstrapEstimate
    public var ndcg: BootstrapEstimate
    public var recall: BootstrapEstimate
    public var usersWithLikedHeldOut: Int
    /// "reward > 0" as a prediction of "liked" (rationale metrics only).
    public var rewardDecision: BinaryDecisionMetrics?
    /// Share of held-out pairs with a positive reward.
    public var rewardRate: Double?
    /// Precision/recall of "score > t" over a grid of t (quantiles of the scores).
    public var sweep: [ThresholdPoint]
    /// The reward threshold this metric ran with (rationale metrics only).
    public var threshold: RewardThreshold?
    /// What the score adds to popularity: cross-fitted incremental AUC, partial Spearman, and
    /// both per popularity stratum.
    public var popularity: PopularityAdjustment
}

/// A paired comparison of a metric `a` with a reference `b` (the control or ELLM's metric) on the
/// same users.
public struct MetricComparison: Sendable, Codable {
    public var a: String
    public var b: String
    /// "auc" or "ndcg@k".
    public var statistic: String
    /// The Holm family: `vs-control` (every other metric against the configuration's baseline) or
    /// `vs-ellm` (every other metric against `ellmMetric`).
    public var family: String
    /// Tests in this comparison's family (same family and statistic, defined p-values): Holm's m.
    public var familySize: Int
    public var difference: PairedDifference
    /// The bootstrap p-value after Holm's correction within this comparison's family and statistic.
    public var holmPValue: Estimate
    /// Sign-flip permutation test on per-user differences (per-user statistics only).
    public var permutation: PermutationTestResult?
}

/// The outcome of validating rewards: per-metric statistics, comparisons and the per-pair scores.
public struct RewardValidationReport: Sendable {
    public var configuration: RewardValidationConfiguration
    public var setup: ScoringSetup
    public var scores: [PairScores]
    public var metrics: [MetricValidation]
    public var comparisons: [MetricComparison]
    /// Users with held-out ratings and rationales (the bootstrap's units).
    public var users: Int
    public var likedShare: Double
    public var rocCurves: [(name: String, curve: ROCCurve)]
    public var seconds: Double
    /// The popularity-only model, strata and folds the popularity adjustments share.
    public var popularityBaseline: PopularityBaseline
    /// The validation-part sweep that chose the metrics' configurations (`--sweep`), if any.
    public var selection: SweepSelection?
}

public enum RewardValidation {
    /// Scores the pairs with every metric, metrics spread over the machine's cores. Each worker's
    /// GEMMs are small (one user's items × rationales), so OpenBLAS runs single-threaded meanwhile
    /// and the parallelism comes from the metrics.
    ///
    /// `configurations[i]` lists the reward configurations metric i is scored under (one per
    /// threshold of a sweep): the metric is prepared once and scored under each.
    static func scoreAll(setup: ScoringSetup, metrics: [any DescriptionDistance], configurations: [[ELLMRewardConfiguration]],
                         progress: ProgressReporter) throws -> [[PairScores]] {
        let threads = min(ProcessInfo.processInfo.activeProcessorCount, metrics.count)
        let slots = WorkSlots<Result<[PairScores], any Error>>(count: metrics.count)
        let previousBLAS = BLASRuntime.threads
        if threads > 1 { BLASRuntime.setThreads(1) }
        defer { if threads > 1 { BLASRuntime.setThreads(previousBLAS) } }
        DispatchQueue.concurrentPerform(iterations: max(threads, 1)) { _ in
            while let i = slots.claim() {
                slots.store(i, Result {
                    let prepared = try metrics[i].prepared(for: setup.context)
                    return try configurations[i].map { try setup.score(prepared, configuration: $0, progress: progress) }
                })
            }
        }
        return try slots.results.map { try $0.get() }
    }

    /// Scores every held-out pair with every metric and computes the statistics of issue 5: global
    /// correlations, mean per-user Spearman, ROC-AUC, NDCG/Recall@k, reward precision/recall and a
    /// threshold sweep, with cluster-bootstrap intervals over users and paired tests.
    public static func run(setup: ScoringSetup, metrics: [any DescriptionDistance],
                           configuration: RewardValidationConfiguration, showProgress: Bool = true) throws -> RewardValidationReport {
        let started = Date()
        guard !setup.pairs.isEmpty else {
            throw StoreError.invalidArgument("no held-out ratings of users with rationales in split '\(setup.split)' (\(configuration.heldOutPart) part); \(setup.pairsWithoutRationales) held-out ratings belong to users without rationales")
        }
        let rewardConfigurations = metrics.map {
            [ELLMRewardConfiguration(threshold: configuration.threshold(for: $0.name), payout: configuration.payout,
                                     scale: configuration.scale, filterAchieved: false)]
        }
        let progress = ProgressReporter(label: "scoring", unit: "pairs", total: setup.pairs.count * metrics.count,
                                        enabled: showProgress ? nil : false)
        let scores = try scoreAll(setup: setup, metrics: metrics, configurations: rewardConfigurations, progress: progress).map { $0[0] }
        progress.finish()
        try checkFinite(scores, setup: setup)

        // Users are the resampling units: group pair indices by user.
        let groups = userGroups(setup.pairs)
        let ratings = setup.pairs.map(\.rating)
        let liked = ratings.map { $0 >= configuration.likeThreshold }
        let likedShare = Double(liked.filter { $0 }.count) / Double(liked.count)

        // Statistics of every metric share the same bootstrap resamples, which makes paired
        // differences between metrics available from the same replicates.
        var statistics: [@Sendable (UserWeights) -> Estimate] = []
        var perUserNDCG: [UserValues] = []
        var perUserSpearman: [(UserValues, Int)] = []
        var usersWithLiked = 0
        for s in scores {
            let pairs = UserGroupedPairs(groups.map { g in (x: g.map { s.score[$0] }, y: g.map { ratings[$0] }) })
            let labels = UserGroupedLabels(groups.map { g in (scores: g.map { s.score[$0] }, labels: g.map { liked[$0] }) })
            let ranking = groups.map { g in
                RankingEvaluation.evaluate(scores: g.map { s.score[$0] }, relevance: g.map { liked[$0] ? 1 : 0 }, k: configuration.k)
            }
            usersWithLiked = ranking.filter { $0.ndcg.isDefined }.count
            let ndcg = UserValues(ranking.map(\.ndcg)), recall = UserValues(ranking.map(\.recall))
            let rho = PerUserCorrelation.spearmanPerUser(groups.map { g in (x: g.map { s.score[$0] }, y: g.map { ratings[$0] }) },
                                                         minimumCount: configuration.minimumRatingsPerUser)
            let rhoValues = UserValues(rho)
            perUserNDCG.append(ndcg)
            perUserSpearman.append((rhoValues, rho.filter(\.isDefined).count))
            statistics += [pairs.pearson, pairs.spearman, pairs.kendallTauB, rhoValues.mean, labels.auc, ndcg.mean, recall.mean]
        }
        let perMetric = 7
        // Popularity adjustment: shared statistics (the popularity-only model) after the per-metric
        // block, then each metric's. The full models are fitted per metric, spread over the cores.
        let adjustment = PopularityAdjustmentPlan(setup: setup, groups: groups, liked: liked,
                                                  folds: configuration.crossFitFolds, seed: configuration.seed)
        let sharedStart = statistics.count
        statistics += adjustment.sharedStatistics()
        let adjustmentSlots = WorkSlots<[@Sendable (UserWeights) -> Estimate]>(count: scores.count)
        let scoreVectors = scores.map(\.score)
        DispatchQueue.concurrentPerform(iterations: max(1, min(ProcessInfo.processInfo.activeProcessorCount, scores.count))) { _ in
            while let i = adjustmentSlots.claim() { adjustmentSlots.store(i, adjustment.metricStatistics(score: scoreVectors[i])) }
        }
        let metricStart = statistics.count
        for s in adjustmentSlots.results { statistics += s }
        let bootstrap = ClusterBootstrap(userCount: groups.count,
                                         configuration: BootstrapConfiguration(resamples: configuration.bootstrapResamples, seed: configuration.seed))
        let replicates = bootstrap.run(statistics, threads: ProcessInfo.processInfo.activeProcessorCount)

        var results: [MetricValidation] = []
        var curves: [(String, ROCCurve)] = []
        for (i, m) in metrics.enumerated() {
            let s = scores[i]
            let base = i * perMetric
            var decision: BinaryDecisionMetrics?
            var rate: Double?
            if m.usesRationales {
                let predicted = s.reward.map { $0 > 0 }
                decision = BinaryDecisionMetrics(predicted: predicted, actual: liked)
                rate = Double(predicted.filter { $0 }.count) / Double(predicted.count)
            }
            let sorted = s.score.sorted()
            let grid = (1..<20).map { sorted[min(sorted.count - 1, Int(Double(sorted.count) * Double($0) / 20))] }
            if case .success(let c) = ROC.curve(scores: s.score, labels: liked) { curves.append((m.name, c)) }
            results.append(MetricValidation(
                metric: m.name, summary: m.summary, usesRationales: m.usesRationales,
                pearson: replicates.estimate(base), spearman: replicates.estimate(base + 1),
                kendallTauB: replicates.estimate(base + 2), meanUserSpearman: replicates.estimate(base + 3),
                usersInMeanSpearman: perUserSpearman[i].1, auc: replicates.estimate(base + 4),
                ndcg: replicates.estimate(base + 5), recall: replicates.estimate(base + 6),
                usersWithLikedHeldOut: usersWithLiked, rewardDecision: decision, rewardRate: rate,
                sweep: ThresholdSweep.evaluate(scores: s.score, labels: liked, thresholds: Array(Set(grid)).sorted()),
                threshold: m.usesRationales ? configuration.threshold(for: m.name) : nil,
                popularity: adjustment.adjustment(replicates, shared: sharedStart,
                                                  at: metricStart + i * PopularityAdjustmentPlan.perMetric,
                                                  scoreRatingSpearman: base + 1)))
        }

        // Holm over the metrics' tests of "no increment over popularity": one family, since each
        // metric answers the same question. The popularity control is left out (its increment is
        // 0 by construction and would only inflate m).
        let overPopularity = results.indices.filter { results[$0].metric != PopularityScore().name }
        let adjustedIncrements = MultipleComparisons.holm(overPopularity.map { results[$0].popularity.incrementalAUC.pValue })
        let incrementFamily = overPopularity.filter { results[$0].popularity.incrementalAUC.pValue.isDefined }.count
        for (j, k) in overPopularity.enumerated() {
            results[k].popularity.holmPValue = adjustedIncrements[j]
            results[k].popularity.holmFamilySize = incrementFamily
        }

        // Paired comparisons on AUC and per-user NDCG@k, in the two families the research question
        // asks about: does a metric beat the no-rationale control, and does it beat ELLM's cosine?
        // Holm corrects within each (family, statistic) only: pooling all metric pairs (66 for 12
        // metrics) would over-correct the tests the question needs.
        var comparisons: [MetricComparison] = []
        let names = metrics.map(\.name)
        let plan = comparisonPlan(metrics: names, baseline: configuration.baseline, ellm: configuration.ellmMetric,
                                  requested: configuration.requestedComparisons)
        // The sign-flip tests are permutations × users each, one per planned pair: spread them over
        // the cores (each has its own seeded stream, so the order of work does not matter).
        let permutationTests = WorkSlots<PermutationTestResult>(count: plan.count)
        let ndcgValues = perUserNDCG
        let permutations = configuration.permutations, seed = configuration.seed
        DispatchQueue.concurrentPerform(iterations: max(1, min(ProcessInfo.processInfo.activeProcessorCount, plan.count))) { _ in
            while let k = permutationTests.claim() {
                let (_, a, b) = plan[k]
                permutationTests.store(k, PairedTests.signFlip(differences: UserValues.differences(ndcgValues[a], ndcgValues[b]),
                                                              permutations: permutations, seed: seed))
            }
        }
        let signFlips = permutationTests.results
        for (statName, offset) in [("auc", 4), ("ndcg@\(configuration.k)", 5)] {
            for (k, (family, a, b)) in plan.enumerated() {
                let d = replicates.difference(a * perMetric + offset, b * perMetric + offset)
                let perm: PermutationTestResult? = offset == 5 ? signFlips[k] : nil
                comparisons.append(MetricComparison(a: names[a], b: names[b], statistic: statName, family: family, familySize: 0,
                                                    difference: d, holmPValue: d.pValue, permutation: perm))
            }
        }
        let (adjusted, sizes) = holmByFamily(comparisons.map(\.difference.pValue),
                                             families: comparisons.map { "\($0.family) \($0.statistic)" })
        for k in comparisons.indices { comparisons[k].holmPValue = adjusted[k]; comparisons[k].familySize = sizes[k] }
        return RewardValidationReport(configuration: configuration, setup: setup, scores: scores, metrics: results,
                                      comparisons: comparisons, users: groups.count, likedShare: likedShare,
                                      rocCurves: curves, seconds: Date().timeIntervalSince(started),
                                      popularityBaseline: adjustment.baseline(replicates, at: sharedStart), selection: nil)
    }
}

extension RewardValidation {
    /// Pair indices grouped by user (pairs are ordered by user): the bootstrap's and the
    /// cross-fitting's units.
    static func userGroups(_ pairs: [HeldOutPair]) -> [[Int]] {
        var groups: [[Int]] = []
        var last: Int64?
        for (k, p) in pairs.enumerated() {
            if p.userID != last { groups.append([]); last = p.userID }
            groups[groups.count - 1].append(k)
        }
        return groups
    }

    /// Family name of the metric-vs-control tests.
    public static let controlFamily = "vs-control"
    /// Family name of the metric-vs-ELLM tests.
    public static let ellmFamily = "vs-ellm"
    /// Family name of the pairs asked for with `requestedComparisons` (`--compare A/B`).
    public static let requestedFamily = "requested"
    /// Family name of the tests of each metric's incremental AUC over popularity.
    public static let popularityFamily = "over-popularity"

    /// The comparisons of one statistic, as (family, metric index, reference index): every metric
    /// other than the baseline against the baseline, then every metric other than ELLM's metric
    /// against it. With k metrics including both references each family holds k − 1 tests; the
    /// baseline-vs-ELLM pair appears in both, since it answers both questions. A reference that is
    /// not among the metrics has no family.
    /// `requested` pairs follow in family "requested" (a pair naming a metric not run is skipped;
    /// `validate-rewards` refuses such names up front).
    public static func comparisonPlan(metrics: [String], baseline: String, ellm: String,
                                      requested: [ComparisonRequest] = []) -> [(family: String, a: Int, b: Int)] {
        var plan: [(family: String, a: Int, b: Int)] = []
        for (family, reference) in [(controlFamily, baseline), (ellmFamily, ellm)] {
            guard let r = metrics.firstIndex(of: reference) else { continue }
            for a in metrics.indices where a != r { plan.append((family, a, r)) }
        }
        for q in requested {
            guard let a = metrics.firstIndex(of: q.a), let b = metrics.firstIndex(of: q.b), a != b else { continue }
            plan.append((requestedFamily, a, b))
        }
        return plan
    }

    /// Holm's adjustment applied separately within each family (equal `families` keys): returns
    /// the adjusted p-values in input order and, for each input, its family's m (defined p-values
    /// only; undefined ones stay undefined and do not count).
    public static func holmByFamily(_ p: [Estimate], families: [String]) -> (adjusted: [Estimate], familySize: [Int]) {
        var adjusted = p
        var size = [Int](repeating: 0, count: p.count)
        var members: [String: [Int]] = [:]
        for (k, f) in families.enumerated() { members[f, default: []].append(k) }
        for indices in members.values {
            let fam = MultipleComparisons.holm(indices.map { p[$0] })
            let m = indices.filter { p[$0].isDefined }.count
            for (j, k) in indices.enumerated() { adjusted[k] = fam[j]; size[k] = m }
        }
        return (adjusted, size)
    }
}

/// A work queue over `count` indices and one result slot per index, shared by the worker threads
/// of `scoreAll` and of the paired sign-flip tests: each worker claims the next index until none
/// is left and stores its result; `results` is read after all workers have returned.
final class WorkSlots<Value>: @unchecked Sendable {
    private var next = 0
    private var slots: [Value?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func claim() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < slots.count else { return nil }
        next += 1
        return next - 1
    }
    func store(_ i: Int, _ r: Value) { lock.lock(); slots[i] = r; lock.unlock() }
    var results: [Value] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
