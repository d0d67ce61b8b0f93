import Foundation
import RecEvaluation
import RecRewards

/// The report sections on popularity and on the validation sweep.
extension ValidationReportWriter {
    static func interval(_ e: BootstrapEstimate) -> ReportCell { .estimateWithInterval(e.point, e.interval, digits: 3) }

    /// How the popularity adjustment was computed, one paragraph.
    static func popularityNote(_ r: RewardValidationReport) -> String {
        let b = r.popularityBaseline
        let auc = b.modelAUC.point.value.map { String(format: "%.3f", $0) } ?? "undefined"
        return "Beyond popularity: logistic models of liked on popularity = log(1 + training count) alone (out-of-fold AUC \(auc)) and on popularity + score, cross-fitted over \(b.folds) folds of users (seed \(r.configuration.seed)); Δ AUC is their difference with a paired cluster-bootstrap interval and p-value; partial ρ is Spearman's correlation of score and rating given popularity."
    }

    static func strataNote(_ r: RewardValidationReport) -> String {
        let s = r.popularityBaseline.strata
        let counts = r.popularityBaseline.strataFigures.map { "\($0.stratum.rawValue) \($0.pairs) pairs" }.joined(separator: ", ")
        return "terciles of training counts over the \(s.catalogItems) catalog items with a training rating: tail ≤ \(RatingScaleFormat.fmt(s.lowerCut)) < torso ≤ \(RatingScaleFormat.fmt(s.upperCut)) < head; \(counts)"
    }

    /// Per metric: AUC, the popularity + score model's AUC, Δ AUC over popularity, its p, partial ρ.
    public static func popularityTable(_ r: RewardValidationReport) -> ReportTable {
        let m = r.metrics.map(\.popularity.holmFamilySize).max() ?? 0
        var t = ReportTable(header: ["metric", "ROC-AUC", "AUC pop + score", "Δ AUC over popularity", "p (bootstrap)",
                                     "p (Holm, m = \(m))", "partial ρ given popularity"])
        for m in r.metrics {
            let p = m.popularity
            t.append([.text(m.metric), interval(m.auc), interval(p.fullModelAUC), interval(p.incrementalAUC.difference),
                      .estimate(p.incrementalAUC.pValue, digits: 4),
                      p.holmFamilySize > 0 ? .estimate(p.holmPValue, digits: 4) : .text("—"), interval(p.partialSpearman)])
        }
        return t
    }

    /// Per metric and stratum: AUC and Δ AUC over popularity; the popularity model's rows first.
    public static func strataTable(_ r: RewardValidationReport) -> ReportTable {
        var t = ReportTable(header: ["metric", "stratum", "pairs", "liked", "ROC-AUC", "Δ AUC over popularity", "p (bootstrap)"])
        let base = r.popularityBaseline.strataFigures
        for s in base {
            t.append([.text("popularity (model)"), .text(s.stratum.rawValue), .integer(s.pairs), .integer(s.liked),
                      interval(s.modelAUC), .text("—"), .text("—")])
        }
        for m in r.metrics {
            for (s, b) in zip(m.popularity.strata, base) {
                t.append([.text(m.metric), .text(s.stratum.rawValue), .integer(b.pairs), .integer(b.liked), interval(s.auc),
                          interval(s.incrementalAUC.difference), .estimate(s.incrementalAUC.pValue, digits: 4)])
            }
        }
        return t
    }

    /// Δ AUC over popularity per metric: overall and per stratum, with intervals.
    static func incrementalAUCChart(_ r: RewardValidationReport) -> String {
        let groups = r.metrics.map { m in
            BarGroup(label: m.metric, bars: ([m.popularity.incrementalAUC.difference] + m.popularity.strata.map(\.incrementalAUC.difference))
                .map { BarValue($0.point, interval: $0.interval.interval) })
        }
        return GroupedBarChart(frame: ChartFrame(width: 760, height: 380, title: "Δ AUC over popularity (cross-fitted)", yLabel: "Δ ROC-AUC"),
                               seriesNames: ["all"] + PopularityStratum.allCases.map(\.rawValue), groups: groups).svg()
    }

    /// Each metric's AUC within each popularity stratum, with intervals.
    static func strataAUCChart(_ r: RewardValidationReport) -> String {
        let groups = r.metrics.map { m in
            BarGroup(label: m.metric, bars: m.popularity.strata.map { BarValue($0.auc.point, interval: $0.auc.interval.interval) })
        }
        return GroupedBarChart(frame: ChartFrame(width: 760, height: 380, title: "ROC-AUC by item popularity stratum", yLabel: "ROC-AUC"),
                               seriesNames: PopularityStratum.allCases.map(\.rawValue), groups: groups, yRange: 0...1).svg()
    }

    // MARK: Selection

    static func selectionNote(_ s: SweepSelection) -> String {
        let tuned = s.criterion.tunesThreshold
            ? "the metrics' settings and the reward threshold (\(s.thresholds.map(ValidationReportSchema.thresholdText).joined(separator: ", ")))"
            : "the metrics' settings only (the criterion does not depend on the reward threshold, which stays at \(s.thresholds.map(ValidationReportSchema.thresholdText).joined(separator: ", ")))"
        let picks = s.picked.map { p in
            "\(p.configuration)\(p.threshold.map { " @ " + ValidationReportSchema.thresholdText($0) } ?? "")"
        }.joined(separator: ", ")
        return "Selection on the \(s.part) part (\(s.heldOutPairs) pairs of \(s.users) users) by \(s.criterion.rawValue), tuning \(tuned); picked: \(picks)."
    }

    /// Every configuration's point estimates on the validation part.
    public static func sweepTable(_ s: SweepSelection) -> ReportTable {
        var t = ReportTable(header: ["metric", "configuration", "threshold", "ROC-AUC", "Δ AUC over pop.", "partial ρ", "NDCG",
                                     "mean user ρ", "rewarded", "reward F1", "picked"])
        for r in s.rows {
            let picked = s.picked.contains { $0.configuration == r.configuration && ($0.threshold == nil || $0.threshold == r.threshold) }
            t.append([.text(r.metric), .text(r.configuration), .text(r.threshold.map(ValidationReportSchema.thresholdText) ?? "—"),
                      .estimate(r.auc, digits: 3), .estimate(r.incrementalAUC, digits: 3), .estimate(r.partialSpearman, digits: 3),
                      .estimate(r.ndcg, digits: 3), .estimate(r.meanUserSpearman, digits: 3),
                      r.rewardRate.map { .number($0, digits: 3) } ?? .text("—"),
                      r.rewardF1.map { .estimate($0, digits: 3) } ?? .text("—"), .text(picked ? "✓" : "")])
        }
        return t
    }

    /// The sweep as a tidy long table: one row per configuration, threshold and statistic.
    static func sweepCSV(_ s: SweepSelection) -> String {
        let w = CSVWriter(lineEnding: "\n")
        var out = w.record(["metric", "configuration", "threshold", "statistic", "value", "undefined_reason", "picked", "criterion"])
        for r in s.rows {
            let picked = s.picked.contains { $0.configuration == r.configuration && ($0.threshold == nil || $0.threshold == r.threshold) }
            var stats: [(String, Estimate)] = [("roc_auc", r.auc), ("incremental_auc_over_popularity", r.incrementalAUC),
                                               ("partial_spearman_given_popularity", r.partialSpearman), ("ndcg", r.ndcg),
                                               ("mean_user_spearman", r.meanUserSpearman)]
            if let rate = r.rewardRate { stats.append(("reward_rate", .value(rate))) }
            if let f1 = r.rewardF1 { stats.append(("reward_f1", f1)) }
            for (name, e) in stats {
                out += w.record([r.metric, r.configuration, r.threshold.map(ValidationReportSchema.thresholdText) ?? "", name,
                                 e.value.map { String($0) } ?? "", e.undefinedReason ?? "", picked ? "1" : "0", s.criterion.rawValue])
            }
        }
        return out
    }
}
