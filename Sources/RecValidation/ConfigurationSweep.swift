import Foundation
import RecDistances
import RecEvaluation
import RecKit
import RecRewards

/// The figure a sweep maximises to pick a metric's configuration on the validation part.
public enum SelectionCriterion: String, Sendable, Hashable, Codable, CaseIterable {
    /// ROC-AUC of the score (liked vs not).
    case auc
    /// Cross-fitted AUC of "liked ~ popularity + score" minus that of "liked ~ popularity".
    case incrementalAUC = "incremental-auc"
    /// Spearman's partial rank correlation of score and rating given popularity.
    case partialSpearman = "partial-spearman"
    /// Mean per-user NDCG@k.
    case ndcg
    /// Mean per-user Spearman ρ.
    case meanUserSpearman = "mean-user-spearman"
    /// F1 of "reward > 0" as a prediction of liked: the only criterion that depends on the reward
    /// threshold, hence the only one under which the sweep tunes the threshold.
    case rewardF1 = "reward-f1"

    /// Whether the criterion depends on the reward threshold. The score-based criteria do not (the
    /// score is the best similarity whatever the threshold), so under them the sweep leaves the
    /// threshold at the run's `--threshold` and tunes the metric's own settings only.
    public var tunesThreshold: Bool { self == .rewardF1 }
}

/// One configuration's point estimates on the validation part.
public struct SweepRow: Sendable, Codable {
    /// The metric the configuration belongs to (the name given in `--metrics`).
    public var metric: String
    /// The configuration's full name (`spec-softmax:temperature=0.05`, or the metric's name).
    public var configuration: String
    /// The reward threshold (rationale metrics only).
    public var threshold: RewardThreshold?
    public var auc: Estimate
    public var incrementalAUC: Estimate
    public var partialSpearman: Estimate
    public var ndcg: Estimate
    public var meanUserSpearman: Estimate
    /// Share of pairs with a positive reward, and F1 of "reward > 0" (rationale metrics only).
    public var rewardRate: Double?
    public var rewardF1: Estimate?

    /// The row's value of a criterion.
    public func value(_ c: SelectionCriterion) -> Estimate {
        switch c {
        case .auc: return auc
        case .incrementalAUC: return incrementalAUC
        case .partialSpearman: return partialSpearman
        case .ndcg: return ndcg
        case .meanUserSpearman: return meanUserSpearman
        case .rewardF1: return rewardF1 ?? .undefined(reason: "no reward threshold (control metric)")
        }
    }
}

/// The record of a selection on the validation part: what was tried, by which criterion, and what
/// was picked for the test run.
public struct SweepSelection: Sendable, Codable {
    public var criterion: SelectionCriterion
    /// The part the sweep ran on (always "valid": nothing is chosen on test).
    public var part: String
    /// Reward thresholds tried (only the run's threshold unless the criterion tunes it).
    public var thresholds: [RewardThreshold]
    public var rows: [SweepRow]
    public var picked: [Pick]
    public var heldOutPairs: Int
    public var users: Int

    public struct Pick: Sendable, Codable {
        public var metric: String
        public var configuration: String
        public var threshold: RewardThreshold?
        /// The criterion's value of the picked row on the validation part.
        public var value: Estimate
        /// Rows the pick was made among.
        public var candidates: Int
    }
}

extension RewardValidation {
    /// Scores every configuration of every metric (`sweepConfigurations`) on `setup` (the
    /// validation part) under each threshold the criterion needs, computes point estimates only
    /// (no bootstrap: the sweep must stay fast) and picks per metric the row with the largest
    /// defined criterion value; ties go to the earlier row (the default configuration first, then
    /// thresholds in the order given). A metric with no defined value keeps its default.
    public static func sweep(setup: ScoringSetup, metrics: [any DescriptionDistance], thresholds: [RewardThreshold],
                             criterion: SelectionCriterion, configuration: RewardValidationConfiguration,
                             showProgress: Bool = true) throws -> SweepSelection {
        guard !setup.pairs.isEmpty else {
            throw RewardValidationError.invalidSweep("no held-out ratings of users with rationales in the valid part of split '\(setup.split)' to sweep on")
        }
        let tried = criterion.tunesThreshold ? thresholds : [configuration.threshold]
        var candidates: [(base: String, metric: any DescriptionDistance)] = []
        for m in metrics { for v in m.sweepConfigurations { candidates.append((m.name, v)) } }
        let rewardConfigurations = candidates.map { c in
            (c.metric.usesRationales ? tried : [configuration.threshold]).map {
                ELLMRewardConfiguration(threshold: $0, payout: configuration.payout, scale: configuration.scale, filterAchieved: false)
            }
        }
        let progress = ProgressReporter(label: "sweep", unit: "pairs",
                                        total: setup.pairs.count * rewardConfigurations.reduce(0) { $0 + $1.count },
                                        enabled: showProgress ? nil : false)
        let scored = try scoreAll(setup: setup, metrics: candidates.map { $0.metric }, configurations: rewardConfigurations, progress: progress)
        progress.finish()
        for s in scored { try checkFinite(s, setup: setup) }

        let groups = userGroups(setup.pairs)
        let ratings = setup.pairs.map(\.rating)
        let liked = ratings.map { $0 >= configuration.likeThreshold }
        let plan = PopularityAdjustmentPlan(setup: setup, groups: groups, liked: liked, folds: configuration.crossFitFolds,
                                            seed: configuration.seed)
        // Score-based figures depend on the configuration only; compute them once per candidate,
        // the candidates spread over the cores.
        let figureSlots = WorkSlots<[Estimate]>(count: candidates.count)
        let scoreVectors = scored.map { $0[0].score }
        let k = configuration.k, minimum = configuration.minimumRatingsPerUser
        DispatchQueue.concurrentPerform(iterations: max(1, min(ProcessInfo.processInfo.activeProcessorCount, candidates.count))) { _ in
            while let i = figureSlots.claim() {
                let score = scoreVectors[i]
                let auc = LabeledScores(scores: score, labels: liked).auc()
                let adjusted = plan.points(score: score)
                let ndcg = PerUserMean(groups.map { g in
                    RankingEvaluation.evaluate(scores: g.map { score[$0] }, relevance: g.map { liked[$0] ? 1 : 0 }, k: k).ndcg
                }).mean
                let rho = PerUserCorrelation.meanSpearman(groups.map { g in (x: g.map { score[$0] }, y: g.map { ratings[$0] }) },
                                                          minimumCount: minimum).mean
                figureSlots.store(i, [auc, adjusted.incrementalAUC, adjusted.partialSpearman, ndcg, rho])
            }
        }
        let figures = figureSlots.results

        var rows: [SweepRow] = []
        var picked: [SweepSelection.Pick] = []
        for m in metrics {
            var best: SweepRow?
            var bestValue = -Double.infinity
            var count = 0
            for (i, c) in candidates.enumerated() where c.base == m.name {
                for (t, s) in zip(rewardConfigurations[i], scored[i]) {
                    let f = figures[i]
                    var row = SweepRow(metric: m.name, configuration: c.metric.name,
                                       threshold: c.metric.usesRationales ? t.threshold : nil,
                                       auc: f[0], incrementalAUC: f[1], partialSpearman: f[2], ndcg: f[3], meanUserSpearman: f[4])
                    if c.metric.usesRationales {
                        let predicted = s.reward.map { $0 > 0 }
                        row.rewardRate = Double(predicted.filter { $0 }.count) / Double(predicted.count)
                        row.rewardF1 = BinaryDecisionMetrics(predicted: predicted, actual: liked).f1
                    }
                    rows.append(row)
                    count += 1
                    if best == nil { best = row }
                    if let v = row.value(criterion).value, v > bestValue { bestValue = v; best = row }
                }
            }
            if let best {
                picked.append(.init(metric: m.name, configuration: best.configuration,
                                    threshold: criterion.tunesThreshold ? best.threshold : nil,
                                    value: best.value(criterion), candidates: count))
            }
        }
        return SweepSelection(criterion: criterion, part: "valid", thresholds: tried, rows: rows, picked: picked,
                              heldOutPairs: setup.pairs.count, users: groups.count)
    }

    /// Selection on validation, report on test: sweeps `metrics` on `validation`, then runs the
    /// normal validation once on `test` with each metric's picked configuration (and, when the
    /// criterion tunes it, its picked threshold as a per-metric override). The references
    /// (`baseline`, `ellmMetric`, requested comparisons) follow their metric's pick, so the paired
    /// tests still find them.
    public static func runSelected(validation: ScoringSetup, test: ScoringSetup, metrics: [any DescriptionDistance],
                                   thresholds: [RewardThreshold], criterion: SelectionCriterion,
                                   configuration: RewardValidationConfiguration, showProgress: Bool = true) throws -> RewardValidationReport {
        guard configuration.heldOutPart != "valid" else {
            throw RewardValidationError.invalidSweep("--sweep selects on the valid part; the report must be on another part (use --part test)")
        }
        let selection = try sweep(setup: validation, metrics: metrics, thresholds: thresholds, criterion: criterion,
                                  configuration: configuration, showProgress: showProgress)
        var chosen: [any DescriptionDistance] = []
        var config = configuration
        for m in metrics {
            guard let p = selection.picked.first(where: { $0.metric == m.name }),
                  let v = m.sweepConfigurations.first(where: { $0.name == p.configuration }) else {
                chosen.append(m)
                continue
            }
            chosen.append(v)
            if let t = p.threshold { config.thresholdOverrides[v.name] = t }
            if config.baseline == m.name { config.baseline = v.name }
            if config.ellmMetric == m.name { config.ellmMetric = v.name }
            for k in config.requestedComparisons.indices {
                if config.requestedComparisons[k].a == m.name { config.requestedComparisons[k].a = v.name }
                if config.requestedComparisons[k].b == m.name { config.requestedComparisons[k].b = v.name }
            }
        }
        config.metrics = chosen.map(\.name)
        var report = try run(setup: test, metrics: chosen, configuration: config, showProgress: showProgress)
        report.selection = selection
        return report
    }
}
