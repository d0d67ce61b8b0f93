import ArgumentParser
import Foundation
import RecData
import RecDistances
import RecEmbedding
import RecKit
import RecNumerics
import RecReasoning
import RecRewards
import RecValidation

extension RewardPayout: ExpressibleByArgument {}
extension SelectionCriterion: ExpressibleByArgument {}

/// `validate-rewards`: does a reward computed from rationales agree with what users rate highly,
/// and which description distance measures it best?
///
/// Metric names resolve through ``ToolMetrics/registry``: `ValidateRewardsCommand.main()` runs the
/// library's metrics, `ValidateRewardsCommand.main(adding: [MyMetric()])` runs them with a
/// downstream package's metrics added (`--metrics all` and `--list-metrics` include them).
public struct ValidateRewardsCommand: MetricExtensibleCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate-rewards",
        abstract: "Validate rationale-based rewards against held-out ratings, for several distance metrics side by side.",
        discussion: """
        For every held-out (user, item) rating of the split, each metric scores the item's text against the \
        user's rationales (max over rationales; the no-rationale controls score the item directly). The report \
        gives global Pearson/Spearman/Kendall τ-b, the mean per-user Spearman, ROC-AUC for liked vs not, \
        NDCG@k and Recall@k of each user's held-out items ranked by score, the ELLM reward's precision/recall \
        and a threshold sweep, 95 % cluster-bootstrap intervals over users, and paired tests of every metric \
        against the no-rationale control (--baseline) and against ELLM's metric (--ellm-metric), Holm-corrected \
        within each of those two families. Each metric's value beyond popularity: the cross-fitted AUC gain of \
        "liked ~ popularity + score" over "liked ~ popularity", Spearman's partial ρ given popularity, and both \
        per item-popularity tercile (head, torso, tail). With --sweep, every metric's configurations (and, for \
        --select-by reward-f1, the --sweep-thresholds) are scored on the valid part, the best by --select-by is \
        picked per metric, and the report is on the test part with the picks. Outputs: a terminal table and a \
        run folder (pairs.csv, summary.csv, report.md, report.json, report.html, incremental-auc.svg, \
        popularity-strata-auc.svg, and sweep.csv with --sweep).
        """,
        version: "validate-rewards 0.1.0 (BLAS: OpenBLAS core \(BLASRuntime.coreName))"
    )

    @OptionGroup var store: StoreOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split name (its training part feeds rationales and controls).") var split: String
    @Option(help: "Held-out part to validate against.") var part: HeldOutPart = .test
    @Option(help: "Reasoner whose latest rationale run is used.") var reasoner = ReasonerName(.aspect)
    @Option(name: .customLong("run"), help: "Use this rationale run id instead of the reasoner's latest.") var runID: Int64?
    @Option(name: .customLong("users-of-run"), help: "Validate only users with at least one rationale in this run too (repeatable): compares runs over different user sets (a --limit-users LLM run, a filtered copy) on the same users.")
    var usersOfRuns: [Int64] = []
    @Option(help: "Comma-separated metrics, or 'all'.") var metrics: String = "all"
    @Option(help: "Reward threshold: an absolute value (0.5) or a per-rationale catalog percentile (p0.9 or 90%).")
    var threshold: String = "p0.9"
    @Option(help: "Reward payout: similarity (ELLM) or binary.") var payout: RewardPayout = .similarity
    @Option(help: "Reward scale λ.") var scale: Double = 1
    @Option(help: "Cut-off of NDCG and Recall.") var k: Int = 10
    @Option(name: .customLong("min-user-ratings"), help: "Held-out ratings a user needs to enter the mean per-user Spearman.")
    var minUserRatings: Int = 3
    @Option(help: "Bootstrap resamples.") var bootstrap: Int = 1000
    @Option(help: "Sign-flip permutations.") var permutations: Int = 10_000
    @Option(help: "The no-rationale control every metric is tested against (Holm family vs-control).") var baseline: String = "centroid-cosine"
    @Option(name: .customLong("ellm-metric"), help: "ELLM's metric, every other metric's second reference (Holm family vs-ellm) when it is among --metrics.")
    var ellmMetric: String = "sbert-cosine"
    @Option(name: .customLong("compare"), parsing: .singleValue,
            help: "A further paired test A/B (metric A against metric B, both among --metrics), in its own Holm family 'requested'; repeatable.")
    var compare: [String] = []
    @Option(help: "Seed for bootstrap, permutations, sampling and the random control.") var seed: UInt64 = 1
    @Option(help: "Run folder (default: runs/validate-rewards/DATASET-SPLIT-REASONER-seedN, REASONER being the reasoner of the run used, also under --run).") var out: String?
    @OptionGroup var encoderOptions: EncoderOptions
    @Option(name: .customLong("batch-size"), help: "Encoder batch size.") var batchSize: Int = 32
    @Flag(name: .customLong("list-metrics"), help: "List the available metrics and exit.") var listMetrics = false
    @Flag(help: "No progress lines.") var quiet = false

    // MARK: Popularity adjustment and selection on validation (issue 12) — options
    @Option(name: .customLong("cross-fit-folds"), help: "Folds of users for the cross-fitted incremental AUC over popularity.")
    var crossFitFolds: Int = 5
    @Flag(help: "Pick each metric's configuration on the valid part (point estimates), then report on the test part with the picks.")
    var sweep = false
    @Option(name: .customLong("select-by"), help: "Criterion of --sweep: auc, incremental-auc, partial-spearman, ndcg, mean-user-spearman or reward-f1 (the only one that also tunes the threshold).")
    var selectBy: SelectionCriterion = .auc
    @Option(name: .customLong("sweep-thresholds"), help: "Comma-separated reward thresholds --sweep tries under --select-by reward-f1.")
    var sweepThresholds: String = "p0.5,p0.75,p0.9,p0.95"
    // MARK: end of issue-12 options

    /// The parser's starting point; use `main()` or `main(adding:)` rather than running one by hand.
    public init() {}

    /// Runs with the library's metrics only (and, through ``ToolMetrics``, any a caller bound).
    public static func main() { main(adding: []) }

    /// The run folder: `--out`, else named after the reasoner of the rationale run actually used
    /// (`--run` may select another reasoner's run than `--reasoner` names). The default name is
    /// built from user input, so each part is made a safe path component: `--dataset ../x` must
    /// not leave `runs/validate-rewards/`.
    func folder(reasoner name: String) -> URL {
        if let out { return URL(fileURLWithPath: out) }
        let leaf = [dataset, split, name].map(ReportFolder.safeComponent).joined(separator: "-") + "-seed\(seed)"
        return URL(fileURLWithPath: "runs/validate-rewards").appendingPathComponent(leaf)
    }

    /// Validates (or lists the metrics). A failure after parsing leaves `error.txt` in the run
    /// folder, beside the report of an earlier run when there is one (which stays untouched), so
    /// a batch of runs can be audited afterwards.
    public func run() throws {
        if listMetrics {
            for m in ToolMetrics.registry.metrics { print("\(m.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(m.summary)") }
            return
        }
        // Until the rationale run is known, errors go to the folder --reasoner names.
        var folder = folder(reasoner: reasoner.rawValue)
        // Every default folder shares this parent, so one probe before any work covers them all:
        // an unwritable --out fails now, not after the statistics.
        do { try ReportFolder(folder).prepare() } catch { throw commandFailure(error) }
        do {
            try perform(folder: &folder)
        } catch {
            let wrote = ValidationReportWriter.writeError(error, configuration: CommandLine.arguments.joined(separator: " "), to: folder)
            throw commandFailure(error, note: wrote ? "wrote \(folder.path)/error.txt" : "could not write \(folder.path)/error.txt either")
        }
    }

    func perform(folder: inout URL) throws {
        guard k >= 1, minUserRatings >= 2, bootstrap >= 1, permutations >= 1 else {
            throw StoreError.invalidArgument("--k must be ≥ 1, --min-user-ratings ≥ 2, --bootstrap and --permutations ≥ 1")
        }
        guard let parsedThreshold = RewardThreshold(parsing: threshold) else {
            throw StoreError.invalidArgument("--threshold expects a number (absolute) or p0.9 / 90% (catalog percentile), got '\(threshold)'")
        }
        // MARK: issue-12 option checks
        guard crossFitFolds >= 2 else { throw StoreError.invalidArgument("--cross-fit-folds must be ≥ 2") }
        if sweep && part == .valid {
            throw StoreError.invalidArgument("--sweep selects on the valid part and reports on test; drop --part valid")
        }
        var parsedSweepThresholds: [RewardThreshold] = []
        for t in sweepThresholds.split(separator: ",") {
            guard let v = RewardThreshold(parsing: String(t)) else {
                throw StoreError.invalidArgument("--sweep-thresholds expects comma-separated thresholds (0.5, p0.9, 90%), got '\(t)'")
            }
            parsedSweepThresholds.append(v)
        }
        if sweep && selectBy.tunesThreshold && parsedSweepThresholds.isEmpty {
            throw StoreError.invalidArgument("--select-by \(selectBy.rawValue) needs at least one --sweep-thresholds value")
        }
        // MARK: end of issue-12 option checks
        let registry = ToolMetrics.registry
        var chosen = try registry.metrics(named: metrics)
        if !chosen.contains(where: { $0.name == baseline }) {
            chosen.append(try registry.metric(named: baseline))
        }
        for candidate in [parsedThreshold] + (sweep && selectBy.tunesThreshold ? parsedSweepThresholds : []) {
            guard case .absolute(let t) = candidate else { continue }
            for m in chosen where m.usesRationales {
                if let r = m.range, !r.contains(t) { throw MetricError.thresholdOutOfRange(metric: m.name, threshold: t, range: r) }
            }
        }

        let store = try self.store.open(readOnly: true)  // reads only; missing embeddings get their own writer
        let d = try store.dataset(named: dataset)
        _ = try store.ratings(dataset: d, split: split, part: .valid).prefix(0)  // names the available splits when missing
        let rationaleStore = try RationaleStore(store: store)
        let runRecord = try runID.map { try rationaleStore.run(id: $0) }
            ?? rationaleStore.latestRun(dataset: dataset, split: split, reasoner: reasoner.rawValue)
        folder = self.folder(reasoner: runRecord.reasoner)
        var rationales = try rationaleStore.rationales(runID: runRecord.id)
        for other in usersOfRuns {
            let otherRun = try rationaleStore.run(id: other)
            guard otherRun.dataset == dataset, otherRun.split == split else {
                throw ValidationError("--users-of-run \(other) is a run of \(otherRun.dataset)/\(otherRun.split), not of \(dataset)/\(split)")
            }
            let keep = Set(try rationaleStore.rationales(runID: other).filter { !$0.value.isEmpty }.keys)
            rationales = rationales.filter { keep.contains($0.key) }
        }
        guard usersOfRuns.isEmpty || rationales.values.contains(where: { !$0.isEmpty }) else {
            throw ValidationError("no user has rationales in run \(runRecord.id) and in every --users-of-run run (\(usersOfRuns.map(String.init).joined(separator: ", ")))")
        }
        guard rationales.values.contains(where: { !$0.isEmpty }) else {
            throw StoreError.invalidArgument("rationale run \(runRecord.id) (\(runRecord.reasoner)) holds no rationales; generate them with `rec-data rationales --dataset \(dataset) --split \(split) --reasoner \(reasoner)`")
        }

        // --sweep scores every configuration of every metric: prepare what any of them needs.
        let needs = (sweep ? chosen.flatMap { $0.sweepConfigurations } : chosen).reduce(MetricNeeds()) { $0.union($1.needs) }
        var encoder: (any SentenceEncoder)?
        var tokenEncoder: BERTSentenceEncoder?
        if needs.contains(.tokenEmbeddings) {
            // Token vectors exist only in-process: mixing a server's sentence vectors with MiniLM's
            // token vectors would compare metrics over two different models.
            if encoderOptions.usesServer {
                let names = (sweep ? chosen.flatMap { $0.sweepConfigurations } : chosen).filter { $0.needs.contains(.tokenEmbeddings) }.map(\.name)
                throw ValidationError("token-level metrics (\(Set(names).sorted().joined(separator: ", "))) need the in-process BERT model; --embeddings-url gives sentence vectors only: drop them from --metrics or drop --embeddings-url")
            }
            tokenEncoder = try encoderOptions.makeBERTEncoder()
            encoder = tokenEncoder
        } else if needs.contains(.sentenceEmbeddings) {
            encoder = try encoderOptions.makeSentenceEncoder()
        }
        let setup = try ScoringSetup.load(store: store, dataset: dataset, split: split, heldOut: part.splitPart, rationales: rationales,
                                          needs: needs, encoders: .init(sentence: encoder, tokens: tokenEncoder, batchSize: batchSize),
                                          seed: seed, showProgress: !quiet)
        var config = RewardValidationConfiguration(dataset: dataset, split: split, reasoner: runRecord.reasoner, metrics: chosen.map(\.name))
        config.heldOutPart = part.rawValue
        config.rationaleRun = runRecord.id
        config.threshold = parsedThreshold
        config.payout = payout
        config.scale = scale
        config.k = k
        config.minimumRatingsPerUser = minUserRatings
        config.bootstrapResamples = bootstrap
        config.permutations = permutations
        config.baseline = baseline
        config.ellmMetric = ellmMetric
        config.requestedComparisons = try compare.map { text in
            let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, let a = parts.first, let b = parts.last,
                  chosen.contains(where: { $0.name == a }), chosen.contains(where: { $0.name == b }), a != b else {
                throw ValidationError("--compare expects A/B with two different metrics of --metrics (got '\(text)'; metrics: \(chosen.map(\.name).joined(separator: ", ")))")
            }
            return ComparisonRequest(a: a, b: b)
        }
        config.seed = seed
        config.encoder = encoder?.modelID
        config.likeThreshold = d.scale.likeThreshold
        // MARK: issue 12 — popularity adjustment and selection on validation
        config.crossFitFolds = crossFitFolds
        config.usersOfRuns = usersOfRuns.isEmpty ? nil : usersOfRuns
        let report: RewardValidationReport
        if sweep {
            let validation = try ScoringSetup.load(store: store, dataset: dataset, split: split, heldOut: .valid, rationales: rationales,
                                                   needs: needs, encoders: .init(sentence: encoder, tokens: tokenEncoder, batchSize: batchSize),
                                                   seed: seed, showProgress: !quiet)
            report = try RewardValidation.runSelected(validation: validation, test: setup, metrics: chosen,
                                                      thresholds: parsedSweepThresholds, criterion: selectBy,
                                                      configuration: config, showProgress: !quiet)
        } else {
            report = try RewardValidation.run(setup: setup, metrics: chosen, configuration: config, showProgress: !quiet)
        }
        // MARK: end of issue 12
        try ValidationReportWriter.write(report, to: folder)
        print(ValidationReportWriter.terminal(report))
        print("report: \(folder.path)/report.html (also report.md, report.json, summary.csv, pairs.csv, *.svg\(report.selection == nil ? "" : ", sweep.csv")) — \(String(format: "%.1f", report.seconds)) s of statistics")
    }
}
