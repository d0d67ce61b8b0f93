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
        files["users.csv"] = userCSV(result.evaluations.map { (result.configuration.method, result.configuration.seed, $0.name, $0.result) })
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

    /// The tidy per-user table (`users.csv`): one row per method, seed, evaluation point and
    /// user; empty cells where a figure is undefined (no liked test item, no rationales).
    static func userCSV(_ evaluations: [(method: String, seed: UInt64, point: String, result: EvaluationResult)]) -> Data {
        var rows: [[String]] = []
        for e in evaluations {
            for u in e.result.perUser ?? [] {
                rows.append([e.method, String(e.seed), e.point, u.user] + UserEvaluation.metricNames.map { u.value($0).map { String($0) } ?? "" })
            }
        }
        return Data(CSVWriter(lineEnding: "\n").document(header: ["method", "seed", "point", "user"] + UserEvaluation.metricNames, rows: rows).utf8)
    }

    /// One paired comparison over users: method − reference of a metric at a point.
    struct UserPairedTest {
        var method: String, reference: String, metric: String, point: String
        var users: Int, seeds: Int
        var difference: PairedDifference
        var signFlip: PermutationTestResult
        var pHolm: Estimate?
    }

    /// Paired tests over users, pooled over seeds: each user's figure is averaged over the seeds
    /// first (the evaluation users are the same for every method and seed, drawn with the
    /// evaluation seed), so the user is the independent unit and seeds only reduce its noise.
    /// The difference of means gets a paired cluster bootstrap over users (95 % percentile
    /// interval, `resamples`, seeded) and an exact-in-the-limit sign-flip test of the per-user
    /// differences (Monte Carlo, 10 000 sign patterns). `pHolm` is left for the caller, which
    /// corrects over every row it reports (one family).
    static func userPairedTests(_ outcomes: [MethodOutcome], methods: [String], reference: String,
                                metrics: [String] = ["hr@10", "ndcg@10", "mean_rating"], resamples: Int = 1000) -> [UserPairedTest] {
        // Per (method, point): user → values over seeds.
        func perUser(_ method: String, zeroShot: Bool, metric: String) -> (means: [String: Double], seeds: Int) {
            var sums: [String: (Double, Int)] = [:]
            let runs = outcomes.filter { $0.method == method }
            for o in runs {
                for u in (zeroShot ? o.zeroShot : o.final).perUser ?? [] {
                    guard let v = u.value(metric), v.isFinite else { continue }
                    let (s, n) = sums[u.user] ?? (0, 0)
                    sums[u.user] = (s + v, n + 1)
                }
            }
            return (sums.mapValues { $0.0 / Double($0.1) }, runs.count)
        }
        var tests: [UserPairedTest] = []
        for method in methods where method != reference {
            for metric in metrics {
                for zeroShot in [true, false] {
                    let a = perUser(method, zeroShot: zeroShot, metric: metric), b = perUser(reference, zeroShot: zeroShot, metric: metric)
                    let users = Set(a.means.keys).intersection(b.means.keys).sorted()
                    guard !users.isEmpty else { continue }
                    let x = users.map { a.means[$0]! }, y = users.map { b.means[$0]! }
                    let boot = ClusterBootstrap(userCount: users.count, configuration: BootstrapConfiguration(resamples: resamples, seed: 1, method: .percentile))
                    let methodValues = UserValues(x.map { .value($0) }), referenceValues = UserValues(y.map { .value($0) })
                    let diff = boot.compare({ w in methodValues.mean(w) }, { w in referenceValues.mean(w) })
                    let flip = PairedTests.signFlip(differences: zip(x, y).map { $0 - $1 }, permutations: 10_000, seed: 1)
                    tests.append(UserPairedTest(method: method, reference: reference, metric: metric, point: zeroShot ? "zero-shot" : "fine-tuned",
                                                users: users.count, seeds: min(a.seeds, b.seeds), difference: diff, signFlip: flip))
                }
            }
        }
        return tests
    }

    static func userPairedTable(_ tests: [UserPairedTest]) -> ReportTable {
        var t = ReportTable(header: ["method − reference", "metric", "point", "users", "seeds", "mean difference [95 % paired bootstrap]",
                                     "sign-flip p", "Holm p"])
        for r in tests {
            t.append([.text("\(r.method) − \(r.reference)"), .text(r.metric), .text(r.point), .integer(r.users), .integer(r.seeds),
                      .estimateWithInterval(r.difference.difference.point, r.difference.difference.interval, digits: 4),
                      .estimate(r.signFlip.pValue, digits: 4), .estimate(r.pHolm ?? .undefined(reason: "not corrected"), digits: 4)])
        }
        return t
    }

    static func userPairedCSV(_ tests: [UserPairedTest]) -> Data {
        let rows = tests.map { r -> [String] in
            let iv = r.difference.difference.interval.interval
            return [r.method, r.reference, r.metric, r.point, String(r.users), String(r.seeds),
                    r.difference.difference.point.value.map { String($0) } ?? "", iv.map { String($0.lower) } ?? "", iv.map { String($0.upper) } ?? "",
                    r.signFlip.pValue.value.map { String($0) } ?? "", r.pHolm?.value.map { String($0) } ?? ""]
        }
        return Data(CSVWriter(lineEnding: "\n").document(header: ["method", "reference", "metric", "point", "users", "seeds", "difference",
                                                                   "ci_lower", "ci_upper", "p_sign_flip", "p_holm"], rows: rows).utf8)
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
    /// seeds the smallest attainable p is 2/2ⁿ (0.25 for 3 seeds); `userPairedTests` pairs over
    /// users instead, which has the power this lacks.
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
        files["users.csv"] = userCSV(outcomes.flatMap { o in [(o.method, o.seed, "zero-shot", o.zeroShot), (o.method, o.seed, "fine-tuned", o.final)] })
        // Paired over users: against the from-scratch agent (does pretraining help?) and against
        // popularity (is the agent a recommender worth having?).
        var references: [String] = []
        if let r = pairedReference(methods) { references.append(r) }
        if methods.contains("popularity"), !references.contains("popularity") { references.append("popularity") }
        var userTests: [UserPairedTest] = []
        for (i, r) in references.enumerated() where methods.count > 1 {
            // Each pair once: an earlier reference against this one is already there, negated.
            userTests += userPairedTests(outcomes, methods: methods.filter { !references[..<i].contains($0) }, reference: r)
        }
        if !userTests.isEmpty {
            let holm = MultipleComparisons.holm(userTests.map(\.signFlip.pValue))
            for i in userTests.indices { userTests[i].pHolm = holm[i] }
            files["paired-users.csv"] = userPairedCSV(userTests)
            md += "\n## Paired tests over users (\(references.joined(separator: " and ")) as references)\n\nEach user's figure is averaged over the seeds, then method − reference is compared over the evaluation users (the same users for every method and seed): mean difference with a 95 % paired cluster-bootstrap interval (1000 resamples of users), a sign-flip test of the per-user differences (10 000 Monte Carlo sign patterns) and Holm's correction over every row of this table. Per-user rows are in `users.csv`.\n\n" + MarkdownTable.render(userPairedTable(userTests)) + "\n"
        }
        files["comparison.md"] = Data(md.utf8)
        var html = HTMLReport(title: "rec-train compare: \(template.dataset)")
        html.paragraph("Command: \(command)")
        html.table(table, caption: "Mean [95 % t-interval] across \(seeds.count) seeds.")
        if let paired { html.table(paired, caption: "Paired over seeds: per-seed differences against \(pairedReference(methods) ?? ""), 95 % paired t-interval, exact sign-flip p.") }
        if !userTests.isEmpty { html.table(userPairedTable(userTests), caption: "Paired over users (each user's figure averaged over seeds): 95 % paired cluster-bootstrap interval, sign-flip p, Holm over the table.") }
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
