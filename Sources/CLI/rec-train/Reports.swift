import Foundation
import RecAgents
import RecEvaluation
import RecKit
import RecNumerics

// The report writing of rec-train lives with the command, not in RecAgents: the agents layer (6)
// sits below evaluation (7), whose tables and charts these reports are made of.

/// Writes run folders and comparison reports (Markdown, CSV, JSON, SVG, HTML).
enum Reports {
    static func json<T: Encodable>(_ value: T) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try enc.encode(value)
    }

    static func cell(_ v: Double?, digits: Int = 3) -> ReportCell {
        guard let v, v.isFinite else { return .estimate(.undefined(reason: "no users with rationales or relevant test items"), digits: digits) }
        return .number(v, digits: digits)
    }

    /// The per-run table: one row per evaluation point.
    static func runTable(_ evaluations: [NamedEvaluation]) -> ReportTable {
        var t = ReportTable(header: ["evaluation", "step", "mean rating", "liked", "HR@10", "NDCG@10", "coverage", "novelty (bits)", "rationales achieved"])
        for e in evaluations {
            let r = e.result
            t.append([.text(e.name), .integer(e.step), cell(r.meanRating), cell(r.likedShare), cell(r.hitRate), cell(r.ndcg),
                      cell(r.coverage), cell(r.novelty, digits: 2), cell(r.rationalesAchieved, digits: 2)])
        }
        return t
    }

    /// Writes a single run's folder.
    static func writeRun(_ result: RunResult, simulator: UserSimulator, extra: [String: String], to dir: URL) throws {
        var files: [String: Data] = [:]
        // OpenBLAS splits a GEMM differently for another thread count, which changes the last bits
        // of every update: the same seed reproduces a run exactly only with the same BLAS threads.
        struct Config: Encodable { var run: RunConfiguration; var simulator: [String: String]; var blas: [String: String]; var extra: [String: String] }
        let sim = ["mf_rmse_test": String(format: "%.4f", simulator.heldOutRMSE), "test_rating_sd": String(format: "%.4f", simulator.heldOutSD),
                   "synthetic_truth": String(simulator.dataset.isSynthetic), "items": String(simulator.dataset.itemCount),
                   "users": String(simulator.dataset.users.count), "encoder": simulator.dataset.encoderID, "seed": String(simulator.seed)]
        let blas = ["core": BLASRuntime.coreName, "threads": String(BLASRuntime.threads)]
        files["config.json"] = try json(Config(run: result.configuration, simulator: sim, blas: blas, extra: extra))
        files["results.json"] = try json(result.evaluations)
        let csv = CSVWriter(lineEnding: "\n").document(header: ["phase", "step", "episodes", "mean_return", "mean_rating", "epsilon", "loss", "rationales_achieved"],
            rows: result.curve.map { [$0.phase, String($0.step), String($0.episodes), String($0.meanReturn), String($0.meanRating), String($0.epsilon), String($0.loss), String($0.achieved)] })
        files["metrics.csv"] = Data(csv.utf8)
        let curves = learningCurves(["\(result.configuration.method)": result.curve])
        files["curve-rating.svg"] = Data(curves.rating.utf8)
        files["curve-return.svg"] = Data(curves.ret.utf8)
        let table = runTable(result.evaluations)
        var md = "# \(result.configuration.method) on \(result.configuration.dataset) (seed \(result.configuration.seed))\n\n"
        md += MarkdownTable.render(table) + "\n"
        md += "\nSimulator: MF RMSE on test ratings \(String(format: "%.3f", simulator.heldOutRMSE)) (test rating SD \(String(format: "%.3f", simulator.heldOutSD)))\(simulator.dataset.isSynthetic ? "; synthetic world: the true preference model answers" : ""). \(result.steps) steps, \(result.updates) updates in \(String(format: "%.1f", result.seconds)) s.\n"
        files["results.md"] = Data(md.utf8)
        var html = HTMLReport(title: "rec-train: \(result.configuration.method) on \(result.configuration.dataset)")
        html.section("Evaluation")
        html.table(table, caption: "Held-out users: greedy sessions of T = \(result.configuration.dqn.episodeLength); HR/NDCG@10 over the full catalog minus the training history.")
        html.section("Learning curves")
        html.figure(svg: curves.rating, caption: "Mean simulated rating per step over training sessions (ε-greedy).")
        html.figure(svg: curves.ret, caption: "Mean episode return (the phase's reward).")
        html.section("Configuration")
        html.preformatted(String(decoding: try json(result.configuration), as: UTF8.self))
        files["index.html"] = Data(html.render().utf8)
        // The run folder also holds the checkpoints: put the report files in, keep those.
        try ReportFolder(dir).update(with: files)
    }

    static func learningCurves(_ curves: [String: [CurvePoint]]) -> (rating: String, ret: String) {
        let names = curves.keys.sorted()
        let rating = LineChart(frame: ChartFrame(title: "Mean simulated rating (training sessions)", xLabel: "environment step", yLabel: "rating"),
                               series: names.map { LineSeries(name: $0, points: curves[$0]!.map { ChartPoint(Double($0.step), $0.meanRating) }) })
        let ret = LineChart(frame: ChartFrame(title: "Episode return", xLabel: "environment step", yLabel: "return"),
                            series: names.map { LineSeries(name: $0, points: curves[$0]!.map { ChartPoint(Double($0.step), $0.meanReturn) }) })
        return (rating.svg(), ret.svg())
    }

    /// Mean and 95 % t-interval across seeds of each method's metric at an evaluation point.
    static func summaries(_ outcomes: [MethodOutcome], methods: [String], metric: String, zeroShot: Bool) -> [SeedSummary] {
        methods.map { m in
            SeedSummary(outcomes.filter { $0.method == m }.compactMap { (zeroShot ? $0.zeroShot : $0.final).value(metric) })
        }
    }

    /// The comparison table: rows are methods, columns metrics (zero-shot and fine-tuned).
    static func comparisonTable(_ outcomes: [MethodOutcome], methods: [String]) -> ReportTable {
        let metrics = ["mean_rating", "hr@10", "ndcg@10", "coverage", "novelty", "rationales_achieved"]
        var header = ["method"]
        for m in metrics { header += ["\(m) zero-shot", "\(m) fine-tuned"] }
        var t = ReportTable(header: header)
        for method in methods {
            var row: [ReportCell] = [.text(method)]
            for metric in metrics {
                for zs in [true, false] {
                    let s = summaries(outcomes, methods: [method], metric: metric, zeroShot: zs)[0]
                    row.append(.estimateWithInterval(s.mean, s.interval, digits: metric == "novelty" ? 2 : 3))
                }
            }
            t.append(row)
        }
        return t
    }

    /// Paired tests between methods, paired over seeds: for each seed the difference method −
    /// reference of a metric (the same seed shares the simulator, evaluation users and, for the
    /// DQN methods, the initial weights' generator). Reports the mean difference with a 95 %
    /// Student-t interval of the per-seed differences (the paired t-interval) and the exact
    /// two-sided sign-flip p-value over the 2ⁿ sign patterns (`PairedTests.signFlip`). With n
    /// seeds the smallest attainable p is 2/2ⁿ (0.25 for 3 seeds). Per-user pairing is not offered:
    /// evaluations keep aggregates per run, not per-user rows.
    static func pairedTable(_ outcomes: [MethodOutcome], methods: [String], reference: String) -> ReportTable {
        var t = ReportTable(header: ["method − \(reference)", "metric", "point", "seeds", "mean difference [95 % paired t]", "sign-flip p (exact, over seeds)"])
        for method in methods where method != reference {
            for metric in ["mean_rating", "ndcg@10"] {
                for zeroShot in [true, false] {
                    var d: [Double] = []
                    for o in outcomes where o.method == method {
                        guard let r = outcomes.first(where: { $0.method == reference && $0.seed == o.seed }),
                              let a = (zeroShot ? o.zeroShot : o.final).value(metric),
                              let b = (zeroShot ? r.zeroShot : r.final).value(metric) else { continue }
                        d.append(a - b)
                    }
                    let s = SeedSummary(d)
                    let p = PairedTests.signFlip(differences: d, permutations: 1 << 16, seed: 1)
                    t.append([.text(method), .text(metric), .text(zeroShot ? "zero-shot" : "fine-tuned"), .number(Double(d.count), digits: 0),
                              .estimateWithInterval(s.mean, s.interval, digits: 3), .estimate(p.pValue, digits: 3)])
                }
            }
        }
        return t
    }

    /// The reference of the paired tests: the from-scratch agent when it ran (does pretraining
    /// help?), else the first method.
    static func pairedReference(_ methods: [String]) -> String? {
        methods.contains("dqn-extrinsic") ? "dqn-extrinsic" : methods.first
    }

    static func writeComparison(_ outcomes: [MethodOutcome], methods: [String], seeds: [UInt64], simulator: UserSimulator,
                                       template: RunConfiguration, pretrainSteps: Int, finetuneSteps: Int, command: String, to dir: URL) throws {
        var files: [String: Data] = [:]
        let table = comparisonTable(outcomes, methods: methods)
        struct Document: Encodable {
            var command: String; var template: RunConfiguration; var seeds: [UInt64]; var methods: [String]
            var pretrainSteps: Int; var finetuneSteps: Int; var mfRMSE: Double; var simulatorSeed: UInt64; var outcomes: [MethodOutcome]
        }
        files["comparison.json"] = try json(Document(command: command, template: template, seeds: seeds, methods: methods, pretrainSteps: pretrainSteps,
                          finetuneSteps: finetuneSteps, mfRMSE: simulator.heldOutRMSE, simulatorSeed: simulator.seed, outcomes: outcomes))
        var rows: [[String]] = []
        for o in outcomes {
            for (point, r) in [("zero-shot", o.zeroShot), ("fine-tuned", o.final)] {
                rows.append([o.method, String(o.seed), point] + EvaluationResult.metricNames.map { r.value($0).map { String($0) } ?? "" } + [String(format: "%.2f", o.seconds)])
            }
        }
        files["comparison.csv"] = Data(CSVWriter(lineEnding: "\n").document(header: ["method", "seed", "point"] + EvaluationResult.metricNames + ["seconds"], rows: rows).utf8)
        var md = "# rec-train compare: \(template.dataset) / \(template.split)\n\n`\(command)`\n\nSeeds \(seeds.map(String.init).joined(separator: ", ")); pretrain \(pretrainSteps) steps (intrinsic reward only), fine-tune \(finetuneSteps) steps (extrinsic). Mean [95 % t-interval] across seeds. Simulator MF RMSE on test ratings: \(String(format: "%.3f", simulator.heldOutRMSE)) (test SD \(String(format: "%.3f", simulator.heldOutSD)))\(simulator.dataset.isSynthetic ? "; synthetic world: the true preference model answers" : "").\n\n" + MarkdownTable.render(table) + "\n"
        var paired: ReportTable?
        if let reference = pairedReference(methods), methods.count > 1 {
            paired = pairedTable(outcomes, methods: methods, reference: reference)
            md += "\n## Paired tests against \(reference) (paired over seeds)\n\nPer seed, the difference method − \(reference); mean with the 95 % Student-t interval of the per-seed differences, and the exact sign-flip p-value over all 2ⁿ sign patterns of the n seeds (smallest attainable p: 2/2ⁿ). No multiple-comparison correction.\n\n" + MarkdownTable.render(paired!) + "\n"
        }
        files["comparison.md"] = Data(md.utf8)
        var html = HTMLReport(title: "rec-train compare: \(template.dataset)")
        html.paragraph("Command: \(command)")
        html.table(table, caption: "Mean [95 % t-interval] across \(seeds.count) seeds.")
        if let paired { html.table(paired, caption: "Paired over seeds: per-seed differences against \(pairedReference(methods) ?? ""), 95 % paired t-interval, exact sign-flip p.") }
        for (metric, label) in [("mean_rating", "Mean simulated rating"), ("ndcg@10", "NDCG@10"), ("hr@10", "HR@10")] {
            let groups = methods.map { m -> BarGroup in
                let z = summaries(outcomes, methods: [m], metric: metric, zeroShot: true)[0]
                let f = summaries(outcomes, methods: [m], metric: metric, zeroShot: false)[0]
                return BarGroup(label: m, bars: [BarValue(z.mean, interval: z.interval.interval), BarValue(f.mean, interval: f.interval.interval)])
            }
            let chart = GroupedBarChart(frame: ChartFrame(width: 760, height: 400, title: label, xLabel: "method", yLabel: label),
                                        seriesNames: ["zero-shot", "fine-tuned"], groups: groups)
            let svg = chart.svg()
            files["bars-\(metric.replacingOccurrences(of: "@", with: "at")).svg"] = Data(svg.utf8)
            html.figure(svg: svg, caption: "\(label): zero-shot (after intrinsic pretraining) and after fine-tuning; error bars are 95 % t-intervals across seeds.")
        }
        let curves = learningCurves(Dictionary(uniqueKeysWithValues: methods.compactMap { m in
            outcomes.first { $0.method == m && !$0.curve.isEmpty }.map { (m, $0.curve) }
        }))
        html.figure(svg: curves.rating, caption: "Training-session mean rating, first seed.")
        files["curves-rating.svg"] = Data(curves.rating.utf8)
        files["index.html"] = Data(html.render().utf8)
        // The comparison folder also holds the runs' checkpoints: put the report files in, keep those.
        try ReportFolder(dir).update(with: files)
    }
}
