import Foundation
import RecData
import RecEvaluation
import RecKit
import RecRewards

/// Renders a `RewardValidationReport` as a terminal table and as a run folder: per-pair CSV,
/// summary CSV, Markdown, JSON (with the configuration) and a self-contained HTML page.
public enum ValidationReportWriter {
    /// The main comparison table.
    public static func mainTable(_ r: RewardValidationReport) -> ReportTable {
        var t = ReportTable(header: ["metric", "ROC-AUC", "Spearman", "Kendall τ-b", "Pearson",
                                     "mean user ρ", "NDCG@\(r.configuration.k)", "Recall@\(r.configuration.k)"])
        for m in r.metrics {
            func c(_ e: BootstrapEstimate) -> ReportCell { .estimateWithInterval(e.point, e.interval, digits: 3) }
            t.append([.text(m.metric), c(m.auc), c(m.spearman), c(m.kendallTauB), c(m.pearson),
                      c(m.meanUserSpearman), c(m.ndcg), c(m.recall)])
        }
        return t
    }

    /// "reward > 0" as a prediction of "liked", for the rationale metrics.
    public static func rewardTable(_ r: RewardValidationReport) -> ReportTable {
        var t = ReportTable(header: ["metric", "threshold", "pairs rewarded", "precision", "recall", "F1"])
        for m in r.metrics {
            guard let d = m.rewardDecision, let rate = m.rewardRate else { continue }
            t.append([.text(m.metric), .text((m.threshold ?? r.configuration.threshold).description), .number(rate, digits: 3),
                      .estimate(d.precision, digits: 3), .estimate(d.recall, digits: 3), .estimate(d.f1, digits: 3)])
        }
        return t
    }

    /// Paired tests; `family` keeps one Holm family (`RewardValidation.controlFamily`/`ellmFamily`).
    public static func comparisonTable(_ r: RewardValidationReport, family: String? = nil) -> ReportTable {
        var t = ReportTable(header: ["A", "B", "statistic", "Holm family (m)", "A − B", "95 % CI", "p (bootstrap)", "p (Holm)", "p (sign-flip)"])
        for c in r.comparisons where family == nil || c.family == family {
            t.append([.text(c.a), .text(c.b), .text(c.statistic), .text("\(c.family) (\(c.familySize))"),
                      .estimate(c.difference.difference.point, digits: 3),
                      .text(c.difference.difference.interval.interval.map { String(format: "[%.3f, %.3f]", $0.lower, $0.upper) } ?? "undefined"),
                      .estimate(c.difference.pValue, digits: 4), .estimate(c.holmPValue, digits: 4),
                      c.permutation.map { .estimate($0.pValue, digits: 4) } ?? .text("—")])
        }
        return t
    }

    /// The text printed on the terminal.
    public static func terminal(_ r: RewardValidationReport) -> String {
        var s = header(r) + "\n\n" + TextTable.render(mainTable(r)) + "\n"
        let rewards = rewardTable(r)
        if !rewards.rows.isEmpty { s += "\nELLM reward (reward > 0 predicts liked)\n" + TextTable.render(rewards) + "\n" }
        let base = comparisonTable(r, family: RewardValidation.controlFamily)
        if !base.rows.isEmpty { s += "\npaired tests against the no-rationale control \(r.configuration.baseline) (Holm within this family, per statistic)\n" + TextTable.render(base) + "\n" }
        let ellm = comparisonTable(r, family: RewardValidation.ellmFamily)
        if !ellm.rows.isEmpty { s += "\npaired tests against ELLM's \(r.configuration.ellmMetric) (Holm within this family, per statistic)\n" + TextTable.render(ellm) + "\n" }
        let requested = comparisonTable(r, family: RewardValidation.requestedFamily)
        if !requested.rows.isEmpty { s += "\npaired tests requested with --compare (Holm within this family, per statistic)\n" + TextTable.render(requested) + "\n" }
        s += "\n" + popularityNote(r) + "\n" + TextTable.render(popularityTable(r)) + "\n"
        s += "\nby item popularity (" + strataNote(r) + ")\n" + TextTable.render(strataTable(r)) + "\n"
        if let sel = r.selection {
            s += "\n" + selectionNote(sel) + "\n" + TextTable.render(sweepTable(sel)) + "\n"
        }
        return s
    }

    static func header(_ r: RewardValidationReport) -> String {
        let c = r.configuration
        return """
        validate-rewards: dataset \(c.dataset), split \(c.split) (\(c.heldOutPart) part), reasoner \(c.reasoner)\(c.rationaleRun.map { " (run \($0))" } ?? "")
        \(r.setup.pairs.count) held-out ratings of \(r.users) users with rationales (\(String(format: "%.1f", r.likedShare * 100)) % liked, ≥ \(RatingScaleFormat.fmt(c.likeThreshold))); \(r.setup.pairsWithoutRationales) held-out ratings of \(r.setup.usersWithoutRationales) users without rationales left out
        \(r.setup.context.rationales.texts.count) rationales; threshold \(c.threshold), payout \(c.payout.rawValue), λ = \(c.scale); 95 % intervals: cluster bootstrap over users (\(c.bootstrapResamples) resamples, seed \(c.seed))
        """
    }

    // MARK: Files

    /// All the files of a run folder, by name.
    public static func files(_ r: RewardValidationReport) throws -> [String: Data] {
        var out: [String: Data] = [:]
        out["pairs.csv"] = Data(pairsCSV(r).utf8)
        out["summary.csv"] = Data(summaryCSV(r).utf8)
        out["report.md"] = Data(markdown(r).utf8)
        out["report.html"] = Data(html(r).utf8)
        out["report.json"] = try json(r)
        out["incremental-auc.svg"] = Data(incrementalAUCChart(r).utf8)
        out["popularity-strata-auc.svg"] = Data(strataAUCChart(r).utf8)
        if let sel = r.selection { out["sweep.csv"] = Data(sweepCSV(sel).utf8) }
        return out
    }

    /// Writes the run folder atomically: everything goes to a sibling temporary folder that then
    /// replaces `directory` (``ReportFolder/replace(with:)``), so a failure never leaves a
    /// half-written report and the previous report stays until the new one is complete.
    public static func write(_ r: RewardValidationReport, to directory: URL) throws {
        try writeFolder(try files(r), to: directory)
    }

    /// Records a failed run as `error.txt` in the run folder, beside any report an earlier run
    /// left there (which stays intact: a failed rerun must not destroy a result). Returns whether
    /// the file was written, so the caller only says so when it was.
    @discardableResult
    public static func writeError(_ error: any Error, configuration: String, to directory: URL) -> Bool {
        let folder = ReportFolder(directory)
        let kept = FileManager.default.fileExists(atPath: directory.appendingPathComponent("report.json").path)
        let note = kept ? "\n(the report files in this folder are from an earlier successful run; this run failed and changed none of them)\n" : ""
        return folder.recordFailure("error: \(error)\n\nconfiguration:\n\(configuration)\n\(note)")
    }

    static func writeFolder(_ files: [String: Data], to directory: URL) throws {
        try ReportFolder(directory).replace(with: files)
    }

    static func pairsCSV(_ r: RewardValidationReport) -> String {
        let w = CSVWriter(lineEnding: "\n")
        var header = ["user_id", "item_id", "rating", "liked", "timestamp"]
        // Whether a metric has a rationale column, decided once: asking per row scanned a control's
        // all-nil column for every pair, which made this file quadratic in the pairs.
        let withRationale = r.scores.map { s in s.bestRationale.contains(where: { $0 != nil }) }
        for (s, has) in zip(r.scores, withRationale) {
            header += ["\(s.metric).score", "\(s.metric).reward"]
            if has { header.append("\(s.metric).rationale") }
        }
        var out = w.record(header)
        let ranges = Dictionary(uniqueKeysWithValues: r.setup.users.map { ($0.userID, $0.rationales) })
        for (k, p) in r.setup.pairs.enumerated() {
            var row = [r.setup.userExternalIDs[p.userID] ?? String(p.userID), r.setup.itemExternalIDs[p.item],
                       RatingScaleFormat.fmt(p.rating), p.rating >= r.configuration.likeThreshold ? "1" : "0", String(p.timestamp)]
            for (s, has) in zip(r.scores, withRationale) {
                // 9 significant digits: scores are Float32 similarities, and 9 digits round-trip
                // every Float32 exactly (6 merged distinct scores into ties for anyone re-ranking).
                row += [String(format: "%.9g", s.score[k]), String(format: "%.9g", s.reward[k])]
                if has {
                    row.append(s.bestRationale[k].map { r.setup.context.rationales.texts[ranges[p.userID]!.lowerBound + $0] } ?? "")
                }
            }
            out += w.record(row)
        }
        return out
    }

    static func summaryCSV(_ r: RewardValidationReport) -> String {
        let w = CSVWriter(lineEnding: "\n")
        var out = w.record(["metric", "statistic", "value", "ci_lower", "ci_upper", "undefined_reason", "stratum"])
        func row(_ metric: String, _ name: String, _ e: BootstrapEstimate, stratum: String = "all") -> String {
            let ci = e.interval.interval
            return w.record([metric, name, e.point.value.map { String($0) } ?? "", ci.map { String($0.lower) } ?? "",
                             ci.map { String($0.upper) } ?? "", e.point.undefinedReason ?? intervalReason(e.interval) ?? "", stratum])
        }
        func pRow(_ metric: String, _ name: String, _ p: Estimate, stratum: String = "all") -> String {
            w.record([metric, name, p.value.map { String($0) } ?? "", "", "", p.undefinedReason ?? "", stratum])
        }
        out += row("popularity-model", "roc_auc", r.popularityBaseline.modelAUC)
        for s in r.popularityBaseline.strataFigures { out += row("popularity-model", "roc_auc", s.modelAUC, stratum: s.stratum.rawValue) }
        for m in r.metrics {
            for (name, e) in [("roc_auc", m.auc), ("spearman", m.spearman), ("kendall_tau_b", m.kendallTauB), ("pearson", m.pearson),
                              ("mean_user_spearman", m.meanUserSpearman), ("ndcg@\(r.configuration.k)", m.ndcg),
                              ("recall@\(r.configuration.k)", m.recall)] {
                out += row(m.metric, name, e)
            }
            let pop = m.popularity
            out += row(m.metric, "popularity_model_plus_score_auc", pop.fullModelAUC)
            out += row(m.metric, "incremental_auc_over_popularity", pop.incrementalAUC.difference)
            out += pRow(m.metric, "incremental_auc_over_popularity_p", pop.incrementalAUC.pValue)
            out += pRow(m.metric, "incremental_auc_over_popularity_p_holm", pop.holmPValue)
            out += row(m.metric, "partial_spearman_given_popularity", pop.partialSpearman)
            for s in pop.strata {
                out += row(m.metric, "roc_auc", s.auc, stratum: s.stratum.rawValue)
                out += row(m.metric, "incremental_auc_over_popularity", s.incrementalAUC.difference, stratum: s.stratum.rawValue)
                out += pRow(m.metric, "incremental_auc_over_popularity_p", s.incrementalAUC.pValue, stratum: s.stratum.rawValue)
            }
            if let d = m.rewardDecision {
                for (name, e) in [("reward_precision", d.precision), ("reward_recall", d.recall), ("reward_f1", d.f1)] {
                    out += pRow(m.metric, name, e)
                }
            }
        }
        return out
    }

    static func markdown(_ r: RewardValidationReport) -> String {
        var s = "# Reward validation: \(r.configuration.dataset) / \(r.configuration.split) / \(r.configuration.reasoner)\n\n"
        s += header(r).split(separator: "\n").map { "- " + $0 }.joined(separator: "\n") + "\n\n"
        s += "## Agreement with held-out ratings\n\n" + MarkdownTable.render(mainTable(r)) + "\n"
        let rewards = rewardTable(r)
        if !rewards.rows.isEmpty { s += "\n## ELLM reward as a prediction of liked\n\n" + MarkdownTable.render(rewards) + "\n" }
        s += "\n## Paired tests\n\nHolm's correction runs within each family and statistic, m in brackets: `vs-control` tests every metric against \(r.configuration.baseline), `vs-ellm` against \(r.configuration.ellmMetric)\(r.configuration.requestedComparisons.isEmpty ? "" : ", `requested` the pairs of --compare").\n\n" + MarkdownTable.render(comparisonTable(r)) + "\n"
        s += "\n## Beyond popularity\n\n" + popularityNote(r) + "\n\n" + MarkdownTable.render(popularityTable(r)) + "\n"
        s += "\n### By item popularity\n\n" + strataNote(r) + "\n\n" + MarkdownTable.render(strataTable(r)) + "\n"
        s += "\n![incremental AUC](incremental-auc.svg)\n\n![AUC by popularity stratum](popularity-strata-auc.svg)\n"
        if let sel = r.selection {
            s += "\n## Selection on the validation part\n\n" + selectionNote(sel) + "\n\n" + MarkdownTable.render(sweepTable(sel)) + "\n"
        }
        s += "\nMetrics: " + r.metrics.map { "`\($0.metric)` — \($0.summary)" }.joined(separator: "; ") + ".\n"
        return s
    }

    /// `report.json` in the flat, versioned schema of `ValidationReportSchema`.
    static func json(_ r: RewardValidationReport) throws -> Data {
        try ValidationReportSchema.data(r)
    }

    static func html(_ r: RewardValidationReport) -> String {
        var h = HTMLReport(title: "Reward validation: \(r.configuration.dataset) / \(r.configuration.split) / \(r.configuration.reasoner)")
        h.paragraph(header(r))
        h.section("Agreement with held-out ratings")
        h.table(mainTable(r), caption: "Point estimates with 95 % cluster-bootstrap intervals over users.")
        let groups = r.metrics.map { BarGroup(label: $0.metric, bars: [BarValue($0.auc.point, interval: $0.auc.interval.interval),
                                                                        BarValue($0.ndcg.point, interval: $0.ndcg.interval.interval)]) }
        h.figure(svg: GroupedBarChart(frame: ChartFrame(width: 760, height: 380, title: "ROC-AUC and NDCG@\(r.configuration.k) by metric", yLabel: "value"),
                                      seriesNames: ["ROC-AUC", "NDCG@\(r.configuration.k)"], groups: groups, yRange: 0...1).svg(),
                 caption: "Error bars: 95 % bootstrap intervals. AUC 0.5 is chance.")
        if !r.rocCurves.isEmpty {
            h.figure(svg: LineChart.roc(title: "ROC: score as a predictor of liked", curves: r.rocCurves).svg(),
                     caption: "One curve per metric over all held-out pairs.")
        }
        let rewards = rewardTable(r)
        if !rewards.rows.isEmpty {
            h.section("ELLM reward")
            h.table(rewards, caption: "Reward > 0 as a prediction of a liked held-out rating.")
            let series = r.metrics.filter(\.usesRationales).map { m in
                LineSeries(name: m.metric, points: m.sweep.compactMap { p in p.metrics.precision.value.map { ChartPoint(p.positiveRate, $0) } }, markers: true)
            }
            h.figure(svg: LineChart(frame: ChartFrame(width: 640, height: 400, title: "Threshold sweep", xLabel: "share of pairs rewarded", yLabel: "precision (liked)"),
                                    series: series, xRange: 0...1, yRange: 0...1).svg(),
                     caption: "Precision of \"score > t\" against the share of pairs it rewards, for thresholds t at score quantiles; the baseline is the liked share (\(String(format: "%.2f", r.likedShare))).")
        }
        h.section("Beyond popularity")
        h.paragraph(popularityNote(r))
        h.table(popularityTable(r), caption: "Cross-fitted over users; 95 % cluster-bootstrap intervals on the out-of-fold predictions, both models on the same resamples.")
        h.figure(svg: incrementalAUCChart(r), caption: "AUC of \"liked ~ popularity + score\" minus that of \"liked ~ popularity\", overall and per popularity stratum; error bars: 95 % bootstrap intervals. Above 0: the score carries information popularity does not.")
        h.subsection("By item popularity")
        h.paragraph(strataNote(r))
        h.table(strataTable(r), caption: "Per stratum of the held-out item's training count.")
        h.figure(svg: strataAUCChart(r), caption: "ROC-AUC of each metric's score within each popularity stratum; within a stratum popularity varies less, so a metric that only tracks popularity falls towards 0.5.")
        if let sel = r.selection {
            h.section("Selection on the validation part")
            h.paragraph(selectionNote(sel))
            h.table(sweepTable(sel), caption: "Point estimates on the valid part (no bootstrap); ✓ marks each metric's pick, which the tables above report on the \(r.configuration.heldOutPart) part.")
        }
        h.section("Score distribution per held-out rating")
        let values = Set(r.setup.pairs.map(\.rating)).sorted()
        for s in r.scores {
            let groups = values.map { v in
                DistributionGroup(label: RatingScaleFormat.fmt(v), values: r.setup.pairs.indices.filter { r.setup.pairs[$0].rating == v }.map { s.score[$0] })
            }
            h.figure(svg: DistributionChart(frame: ChartFrame(width: 560, height: 320, title: s.metric, xLabel: "held-out rating", yLabel: "score"),
                                            groups: groups).svg(),
                     caption: "\(s.metric): score by held-out rating (a valid reward rises with the rating).")
        }
        h.section("Paired tests")
        h.table(comparisonTable(r), caption: "Paired bootstrap on the same user resamples; Holm-corrected within each family (vs-control: against \(r.configuration.baseline); vs-ellm: against \(r.configuration.ellmMetric)) and statistic, m in brackets; sign-flip permutation test on per-user NDCG differences.")
        if let data = try? json(r), let text = String(data: data, encoding: .utf8) {
            h.preformatted(text.count > 4000 ? String(text.prefix(4000)) + "\n…" : text, heading: "Configuration and results (report.json)")
        }
        return h.render()
    }
}

func intervalReason(_ i: IntervalEstimate) -> String? {
    if case .undefined(let r) = i { return r }
    return nil
}

/// Rating values as people write them ("4", "3.5").
enum RatingScaleFormat {
    static func fmt(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}
