import ArgumentParser
import Foundation
import RecAgents
import RecCLI
import RecData
import RecEmbedding
import RecKit
import RecNN
import RecNumerics
import RecReasoning

/// Options shared by `train` and `compare`: data, encoder, simulator, agent and protocol.
struct CommonOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split name (its training part is the users' history; test ratings are the ranking ground truth).")
    var split: String = "leave-last-out"
    @Option(help: "Rationale source: a reasoner name in the store (aspect, openai, ...), 'truth' (a synthetic world's true preference statements), or 'none'.")
    var rationales: String = "aspect"
    @Option(help: "Description distance behind the ELLM reward: any rationale metric of the registry validate-rewards uses (sbert-cosine, learned-bilinear, hybrid:alpha=0.25, …, or one a downstream package adds).")
    var metric: String = "sbert-cosine"
    @Option(help: "Sentence encoder: minilm (a BERT model: all-MiniLM-L6-v2 or the --model folder, or the --embeddings-url server; embeddings must be cached by `rec-data embed` with the same options) or hashing (bag of words, no model).")
    var encoder: EncoderKind = .minilm
    @OptionGroup var encoderOptions: EncoderOptions
    @Flag(name: .customLong("embed-missing"), help: "Embed item texts missing from the cache instead of failing.") var embedMissing = false
    @Option(name: .customLong("pretrain-steps"), help: "Environment steps of intrinsic-reward pretraining.") var pretrainSteps = 20_000
    @Option(name: .customLong("finetune-steps"), help: "Environment steps of extrinsic fine-tuning.") var finetuneSteps = 10_000
    @Option(name: .customLong("episode-length"), help: "T: recommendations per session.") var episodeLength = 10
    @Option(name: .customLong("history"), help: "N: consumed items in the state.") var history = 10
    @Flag(name: .customLong("observed-only"), help: "Only recommend items with a known held-out rating.") var observedOnly = false
    @Flag(name: .customLong("synthetic-noise"), help: "Synthetic world: draw noisy ratings instead of the expected rating.") var syntheticNoise = false
    // The simulator is the environment: one seed for every method and run seed of a comparison, so
    // methods are compared on the same simulated users; the run seed drives everything the agent draws.
    @Option(name: .customLong("simulator-seed"), help: "Seed of the user simulator (MF fit, synthetic noise); the same for every run seed.")
    var simulatorSeed: UInt64 = 1
    @Option(name: .customLong("batch-size")) var batchSize = 64
    @Option(name: .customLong("lr"), help: "Adam learning rate.") var learningRate: Float = DQNConfiguration().learningRate
    @Option(name: .customLong("hidden"), help: "State-tower hidden widths, comma-separated.") var hidden = "256,256"
    @Option(name: .customLong("tower"), help: "Tower output width.") var tower = 64
    @Option(name: .customLong("n-step")) var nStep = 3
    @Option(help: "Discount factor γ.") var gamma: Float = DQNConfiguration().gamma
    @Option(name: .customLong("train-every"), help: "Environment steps per gradient update.") var trainEvery = DQNConfiguration().trainFrequency
    @Option(name: .customLong("target-every"), help: "Hard target copy every N steps.") var targetEvery = 500
    @Option(name: .customLong("tau"), help: "Polyak τ (> 0 replaces hard copies).") var tau: Float = 0
    @Flag(help: "Dueling heads: Q = V(s) + A(s, a) − mean_a A(s, a) (ELLM's DQN has them).") var dueling = false
    @Option(name: .customLong("supervised-weight"), help: "Weight λ of an SQN supervised next-item head beside the Q head (0 = none); evaluation then ranks with that head.")
    var supervisedWeight: Float = 0
    @Option(name: .customLong("supervised-batch"), help: "Logged examples per supervised-head minibatch (default: --batch-size).")
    var supervisedBatch: Int?
    @Option(name: .customLong("supervised-examples"), help: "The supervised head's examples: next (SQN: the next item from the items before it) or bag (any training item from the user's most recent other items; matches a random split).")
    var supervisedExamples: SupervisedExamples = .next
    @Option(name: .customLong("item-features"), help: "What the agent sees of an item: text (its text embedding), bpr (BPR-MF factors fitted on the training ratings, early-stopped on valid, seeded by --simulator-seed) or text+bpr. The rewards keep the text embeddings.")
    var itemFeatures: ItemRepresentation = .text
    @Flag(name: .customLong("no-double"), help: "Plain DQN targets (the target network picks a′ too) instead of double DQN.") var noDouble = false
    @Option(name: .customLong("eval-users"), help: "Most held-out users evaluated (of the 20 % held out), or all: every playable user trains and is evaluated on its test items (RecBole's protocol).")
    var evalUsers: EvaluationUsers = .atMost(200)
    @Option(name: .customLong("eval-part"), help: "Held-out part the ranking metrics score: test (to report) or validation (to choose hyperparameters; the run then reads no test rating).")
    var evalPart: FullRankingEvaluation.Part = .test
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (at the next session end; 0 = never).") var checkpointEvery = 5000
    @Option(name: .customLong("log-every"), help: "Steps per learning-curve point.") var logEvery = 1000
    @Flag(help: "No progress line.") var quiet = false

    /// Refuses hyperparameters that cannot train before any data is loaded; the library checks
    /// the same again (``RunConfiguration/validate()``), this names the flags.
    func validate() throws {
        var problems: [String] = []
        func need(_ ok: Bool, _ text: String) { if !ok { problems.append(text) } }
        need(pretrainSteps >= 0, "--pretrain-steps must be ≥ 0 (got \(pretrainSteps))")
        need(finetuneSteps >= 0, "--finetune-steps must be ≥ 0 (got \(finetuneSteps))")
        need(episodeLength >= 1, "--episode-length must be ≥ 1 (got \(episodeLength))")
        need(history >= 1, "--history must be ≥ 1 (got \(history))")
        need(batchSize >= 1, "--batch-size must be ≥ 1 (got \(batchSize))")
        need(learningRate.isFinite && learningRate > 0, "--lr must be a finite number > 0 (got \(learningRate))")
        need(tower >= 1, "--tower must be ≥ 1 (got \(tower))")
        need(nStep >= 1, "--n-step must be ≥ 1 (got \(nStep))")
        need(gamma.isFinite && gamma >= 0 && gamma <= 1, "--gamma must be in [0, 1] (got \(gamma))")
        need(trainEvery >= 1, "--train-every must be ≥ 1 (got \(trainEvery))")
        need(targetEvery >= 0, "--target-every must be ≥ 0 (got \(targetEvery))")
        need(tau.isFinite && tau >= 0 && tau <= 1, "--tau must be in [0, 1] (got \(tau))")
        if case let .atMost(n) = evalUsers { need(n >= 1, "--eval-users must be ≥ 1 or all (got \(n)): the final evaluation needs held-out users") }
        need(checkpointEvery >= 0, "--checkpoint-every must be ≥ 0 (0 = never; got \(checkpointEvery))")
        need(logEvery >= 1, "--log-every must be ≥ 1 (got \(logEvery))")
        need(supervisedWeight.isFinite && supervisedWeight >= 0, "--supervised-weight must be a finite number ≥ 0 (got \(supervisedWeight))")
        if let b = supervisedBatch { need(b >= 1, "--supervised-batch must be ≥ 1 (got \(b))") }
        need(!(encoder == .hashing && encoderOptions.usesServer), "--encoder hashing and --embeddings-url exclude each other (the server replaces the minilm encoder)")
        let registry = ToolMetrics.registry
        let rationaleMetrics = registry.metrics.filter { $0.usesRationales && !$0.needs.contains(.tokenEmbeddings) }.map(\.name)
        if let m = try? registry.metric(named: metric) {
            need(m.usesRationales, "--metric \(metric) scores items without rationales; the ELLM reward needs one of: \(rationaleMetrics.joined(separator: ", "))")
            need(!m.needs.contains(.tokenEmbeddings), "--metric \(metric) needs token embeddings, which rec-train does not prepare; use one of: \(rationaleMetrics.joined(separator: ", "))")
        } else {
            problems.append("--metric: unknown metric '\(metric)'; the ELLM reward can use: \(rationaleMetrics.joined(separator: ", "))")
        }
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "; ")) }
    }

    func encoderInstance() throws -> any SentenceEncoder {
        switch encoder {
        // The hashing encoder lives with the agents (RecAgents), which the shared CLI support does not link.
        case .hashing: return HashingEncoder(dimension: 256)
        case .minilm: return try encoderOptions.makeSentenceEncoder()
        }
    }

    func loadRationales(store: RatingStore, info: DatasetInfo, required: Bool) throws -> [Int64: [String]] {
        switch rationales {
        case "none":
            if required { throw ValidationError("this reward needs rationales; pass --rationales aspect|truth|REASONER") }
            return [:]
        case "truth":
            var out: [Int64: [String]] = [:]
            for u in try store.users(dataset: info) { if let p = u.preference, !p.isEmpty { out[u.id] = [p] } }
            if out.isEmpty && required { throw ValidationError("dataset '\(dataset)' has no stored preference statements (only synthetic worlds do)") }
            return out
        default:
            do {
                return try RationaleStore(store: store).rationales(dataset: dataset, split: split, reasoner: rationales)
            } catch {
                if required { throw AgentError.missingRationales(dataset: dataset, split: split, reasoner: rationales) }
                return [:]
            }
        }
    }

    func template(method: String, seed: UInt64, encoderID: String) throws -> RunConfiguration {
        var c = RunConfiguration(method: method, dataset: dataset, split: split, seed: seed)
        c.dqn.episodeLength = episodeLength
        c.dqn.historyLength = history
        c.dqn.observedOnly = observedOnly
        c.dqn.batchSize = batchSize
        c.dqn.learningRate = learningRate
        c.dqn.stateHidden = try hidden.split(separator: ",").map { s in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("--hidden: '\(s)' is not a positive width") }
            return v
        }
        c.dqn.towerWidth = tower
        c.dqn.nStep = nStep
        c.dqn.gamma = gamma
        c.dqn.trainFrequency = trainEvery
        c.dqn.targetUpdateInterval = targetEvery
        c.dqn.polyakTau = tau
        if dueling { c.dqn.dueling = true }
        if supervisedWeight > 0 { c.dqn.supervisedWeight = supervisedWeight }
        c.dqn.supervisedBatchSize = supervisedBatch
        if supervisedExamples != .next { c.dqn.supervisedExamples = supervisedExamples }
        c.dqn.doubleDQN = !noDouble
        if itemFeatures != .text { c.dqn.itemRepresentation = itemFeatures }
        switch evalUsers {
        case let .atMost(n): c.evaluationUsers = n
        case .all: c.evaluateAllUsers = true
        }
        if evalPart != .test { c.evaluationPart = evalPart }
        c.syntheticNoise = syntheticNoise
        c.checkpointEvery = checkpointEvery
        c.logEvery = logEvery
        c.encoder = encoderID
        c.rewardMetric = metric
        return c
    }

    func prepare(needRationales: Bool) throws -> (RatingStore, UserSimulator, String) {
        if let threads = encoderOptions.threads { BLASRuntime.setThreads(threads) } else { BLASRuntime.configureFromEnvironment() }
        let db = self.store.db
        guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("database \(db) does not exist (create it with `rec-data fetch ml-100k` or `rec-data synth`)") }
        let store = try RatingStore(path: db, readOnly: true)  // reads only; missing embeddings get their own writer
        let info = try store.dataset(named: dataset)
        // Checked here because a missing split otherwise surfaces as "no rationales for split …".
        let splits = try store.splits(dataset: info)
        guard splits.contains(split) else { throw StoreError.noSuchSplit(dataset: dataset, split: split, available: splits) }
        let enc = try encoderInstance()
        let rats = try loadRationales(store: store, info: info, required: needRationales)
        let data = try AgentDataset.load(store: store, dataset: dataset, split: split, encoder: enc, rationales: rats,
                                         allowEncoding: embedMissing || encoder == .hashing, showProgress: !quiet)
        var mf = MatrixFactorization.Configuration()
        mf.epochs = 30
        let sim = UserSimulator(dataset: data, mf: mf, syntheticNoise: syntheticNoise, seed: simulatorSeed)
        return (store, sim, enc.modelID)
    }
}

extension ItemRepresentation: ExpressibleByArgument {}
extension SupervisedExamples: ExpressibleByArgument {}
extension FullRankingEvaluation.Part: ExpressibleByArgument {}

/// A `MetricExtensibleCommand`: a downstream package's `RecTrain.main(adding:)`-style entry point
/// resolves `--metric` through its extended registry, as `validate-rewards` does.
@main
struct RecTrain: MetricExtensibleCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-train",
        abstract: "Train DQN recommenders in a user simulator built from the ratings DB (ELLM's pretrain-then-finetune protocol).",
        subcommands: [Train.self, Compare.self, BPR.self],
        defaultSubcommand: Train.self)

    static func main() {
        ParseCheck.exitIfRequested(Self.self)  // REC_PARSE_ONLY=1: the docs check
        BLASRuntime.reexecWithOptimalCoreIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One run: pretrain with an intrinsic reward (no ratings), evaluate zero-shot, fine-tune with the extrinsic reward, evaluate.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Pretraining reward: ellm, ellm-goal (ELLM reward, goal-conditioned agent), ellm-novelty (ELLM's novelty baseline: every distinct rationale of the run is a goal for everyone), apt (ELLM's APT baseline: kNN particle entropy, k = 12), count-novelty, count-novelty-cluster (count-based; not ELLM's goal novelty; 'novelty' is a deprecated alias), rnd, extrinsic (no pretraining: fine-tune only), or a weighted sum like ellm+0.5*count-novelty.")
    var reward: String = "ellm"
    @Option(help: "Run seed.") var seed: UInt64 = 1
    @Option(help: "Shorthand for --pretrain-steps.") var steps: Int?
    @Option(help: "Run folder.") var out: String
    @Flag(help: "Continue from the run folder's latest checkpoint.") var resume = false

    func validate() throws {
        if let steps, steps < 0 { throw ValidationError("--steps must be ≥ 0 (got \(steps))") }
    }

    func run() throws {
        do {
            // Before any data is loaded or any step trained: an unwritable --out fails now.
            try ReportFolder(path: out).prepare()
            let spec = try RewardSpec(parsing: reward)
            for note in RewardSpec.deprecationNotes(reward) { FileHandle.standardError.write(Data((note + "\n").utf8)) }
            let (_, sim, encID) = try common.prepare(needRationales: spec.usesRationales)
            // The canonical spelling (deprecated aliases resolved) names the method and its phases.
            let method = reward == "extrinsic" ? "dqn-extrinsic" : reward == "ellm-goal" ? "dqn-ellm-goal" : "dqn:\(spec.description)"
            var c = try Methods.configuration(method: method, template: try common.template(method: method, seed: seed, encoderID: encID),
                                              seed: seed, pretrainSteps: steps ?? common.pretrainSteps,
                                              // The from-scratch extrinsic agent has no pretraining: --steps is its budget.
                                              finetuneSteps: method == "dqn-extrinsic" ? (steps ?? common.finetuneSteps) : common.finetuneSteps)
            if reward == "ellm-goal" { c.dqn.goalConditioned = true }
            guard !c.phases.isEmpty else { throw AgentError.impossible("no training steps (both --pretrain-steps and --finetune-steps are 0)") }
            let dir = URL(fileURLWithPath: out)
            if !resume, FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoints/latest.json").path) {
                throw ValidationError("\(out) already holds a run; pass --resume to continue it or choose another --out")
            }
            if !common.quiet {
                FileHandle.standardError.write(Data("simulator: MF RMSE on test ratings \(String(format: "%.3f", sim.heldOutRMSE)) (test SD \(String(format: "%.3f", sim.heldOutSD)), simulator seed \(sim.seed))\(sim.dataset.isSynthetic ? "; synthetic world: the true preference model answers" : ""); BLAS core \(BLASRuntime.coreName)\n".utf8))
            }
            let runner = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: dir.appendingPathComponent("checkpoints"), showProgress: !common.quiet,
                                         metrics: ToolMetrics.registry)
            let result = try runner.run(resume: resume)
            try Reports.writeRun(result, simulator: sim, extra: ["command": CommandLine.arguments.joined(separator: " ")], to: dir)
            print(try String(contentsOf: dir.appendingPathComponent("results.md"), encoding: .utf8))
            print("run folder: \(dir.path)")
        } catch { throw commandFailure(error) }
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole protocol across methods and seeds; writes comparison.md/.csv/.json and index.html with bar charts.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Seeds, comma-separated.") var seeds = "1,2,3"
    @Option(help: "Methods, comma-separated (default: all: \(Methods.all.joined(separator: ","))).") var methods: String?
    @Option(help: "Output folder.") var out: String

    func run() throws {
        do {
            try ReportFolder(path: out).prepare()
            let seedList = try seeds.split(separator: ",").map { s -> UInt64 in
                guard let v = UInt64(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds: '\(s)' is not a seed") }
                return v
            }
            let methodList = methods.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? Methods.all
            let needRationales = try methodList.contains { m in try !Methods.baselines.contains(m) && (try Methods.pretrainReward(m)).map { try RewardSpec(parsing: $0).usesRationales } == true }
            let (_, sim, encID) = try common.prepare(needRationales: needRationales)
            if !common.quiet {
                FileHandle.standardError.write(Data("simulator: MF RMSE on test ratings \(String(format: "%.3f", sim.heldOutRMSE)) (test SD \(String(format: "%.3f", sim.heldOutSD))); BLAS core \(BLASRuntime.coreName)\n".utf8))
            }
            let template = try common.template(method: "compare", seed: seedList.first ?? 1, encoderID: encID)
            let dir = URL(fileURLWithPath: out)
            let cmp = Comparison(template: template, methods: methodList, seeds: seedList, pretrainSteps: common.pretrainSteps,
                                 finetuneSteps: common.finetuneSteps, showProgress: !common.quiet, metrics: ToolMetrics.registry)
            let start = Date()
            let outcomes = try cmp.run(simulator: sim, checkpointRoot: dir.appendingPathComponent("runs"))
            try Reports.writeComparison(outcomes, methods: methodList, seeds: seedList, simulator: sim, template: template,
                                        pretrainSteps: common.pretrainSteps, finetuneSteps: common.finetuneSteps,
                                        command: CommandLine.arguments.joined(separator: " "), to: dir)
            print(try String(contentsOf: dir.appendingPathComponent("comparison.md"), encoding: .utf8))
            print(String(format: "compare finished in %.1f s; report: %@", Date().timeIntervalSince(start), dir.appendingPathComponent("index.html").path))
        } catch { throw commandFailure(error) }
    }
}

/// `--eval-users N|all`.
enum EvaluationUsers: ExpressibleByArgument, Equatable {
    /// At most N of the held-out fraction.
    case atMost(Int)
    /// Every playable user, trained on and evaluated (RecBole's protocol).
    case all

    init?(argument: String) {
        if argument == "all" { self = .all } else if let n = Int(argument) { self = .atMost(n) } else { return nil }
    }
    var defaultValueDescription: String { if case let .atMost(n) = self { return String(n) }; return "all" }
}
