import Foundation
import RecDistances
import RecNumerics

/// The methods `rec-train compare` runs: seven DQN variants and four non-RL baselines.
public enum Methods {
    public static let all = ["dqn-ellm", "dqn-ellm-goal", "dqn-ellm-novelty", "dqn-apt", "dqn-count-novelty", "dqn-rnd", "dqn-extrinsic",
                             "random", "popularity", "mf-greedy", "bpr-mf"]
    public static let baselines: Set<String> = ["random", "popularity", "mf-greedy", "bpr-mf"]

    /// Pretraining reward of a DQN method (nil for the from-scratch extrinsic agent).
    public static func pretrainReward(_ method: String) throws -> String? {
        switch method {
        case "dqn-ellm", "dqn-ellm-goal": return "ellm"
        case "dqn-count-novelty", "dqn-novelty": return "count-novelty"  // dqn-novelty: the deprecated name
        case "dqn-rnd": return "rnd"
        case "dqn-ellm-novelty": return "ellm-novelty"
        case "dqn-apt": return "apt"
        case "dqn-extrinsic": return nil
        default:
            if method.hasPrefix("dqn:") { return String(method.dropFirst(4)) }
            throw AgentError.impossible("unknown method '\(method)'; known: \(all.joined(separator: ", ")), or dqn:REWARD")
        }
    }

    /// The run configuration of a DQN method under the protocol.
    public static func configuration(method: String, template: RunConfiguration, seed: UInt64,
                                     pretrainSteps: Int, finetuneSteps: Int) throws -> RunConfiguration {
        var c = template
        c.method = method
        c.seed = seed
        c.dqn.goalConditioned = method == "dqn-ellm-goal"
        c.phases = RunConfiguration.protocolPhases(reward: try pretrainReward(method), pretrainSteps: pretrainSteps, finetuneSteps: finetuneSteps)
        return c
    }
}

/// One method and seed's evaluations.
public struct MethodOutcome: Sendable, Codable, Hashable {
    public var method: String
    public var seed: UInt64
    public var zeroShot: EvaluationResult
    public var final: EvaluationResult
    public var seconds: Double
    public var curve: [CurvePoint]
}

/// Runs the whole protocol across methods and seeds on one simulator.
public struct Comparison {
    public var template: RunConfiguration
    public var methods: [String]
    public var seeds: [UInt64]
    public var pretrainSteps: Int
    public var finetuneSteps: Int
    public var showProgress: Bool
    /// Where the template's `rewardMetric` is looked up.
    public var metrics: MetricRegistry

    public init(template: RunConfiguration, methods: [String], seeds: [UInt64], pretrainSteps: Int, finetuneSteps: Int, showProgress: Bool = true,
                metrics: MetricRegistry = .standard) {
        self.template = template; self.methods = methods; self.seeds = seeds
        self.pretrainSteps = pretrainSteps; self.finetuneSteps = finetuneSteps; self.showProgress = showProgress
        self.metrics = metrics
    }

    public func run(simulator: UserSimulator, checkpointRoot: URL?) throws -> [MethodOutcome] {
        for m in methods where !Methods.baselines.contains(m) {
            if let r = try Methods.pretrainReward(m), (try RewardSpec(parsing: r)).usesRationales, simulator.dataset.rationaleEmbeddings == nil {
                throw AgentError.missingRationales(dataset: simulator.dataset.name, split: simulator.dataset.split, reasoner: "aspect")
            }
        }
        // One fit of the agent's item features for every DQN method and seed (BPR takes ~15 s on ml-100k).
        let features = try ItemFeatures.matrix(template.dqn.itemRepresentation ?? .text, dataset: simulator.dataset, seed: simulator.seed)
        var out: [MethodOutcome] = []
        for seed in seeds {
            for m in methods {
                if Methods.baselines.contains(m) {
                    var c = template
                    c.method = m; c.seed = seed; c.phases = []
                    let runner = try TrainingRun(configuration: c, simulator: simulator, checkpointDirectory: nil, showProgress: false, metrics: metrics,
                                                 itemFeatures: features)
                    let evaluator = try runner.makeEvaluator()
                    let start = Date()
                    let r: EvaluationResult
                    switch m {
                    case "random": var p = RandomPolicy(items: simulator.dataset.itemCount, seed: seed); r = try evaluator.evaluate(&p)
                    case "popularity": var p = PopularityPolicy(dataset: simulator.dataset); r = try evaluator.evaluate(&p)
                    case "bpr-mf":
                        var b = BPRMF.Configuration()
                        b.seed = seed
                        var p = BPRPolicy(model: try BPRMF(dataset: simulator.dataset, configuration: b))
                        r = try evaluator.evaluate(&p)
                    default: var p = MFGreedyPolicy(model: simulator.model); r = try evaluator.evaluate(&p)
                    }
                    out.append(MethodOutcome(method: m, seed: seed, zeroShot: r, final: r, seconds: Date().timeIntervalSince(start), curve: []))
                } else {
                    let c = try Methods.configuration(method: m, template: template, seed: seed, pretrainSteps: pretrainSteps, finetuneSteps: finetuneSteps)
                    let dir = checkpointRoot?.appendingPathComponent("\(m)-seed\(seed)")
                    let result = try TrainingRun(configuration: c, simulator: simulator, checkpointDirectory: dir, showProgress: showProgress,
                                             metrics: metrics, itemFeatures: features).run(resume: true)
                    out.append(MethodOutcome(method: m, seed: seed, zeroShot: result.evaluation("zero-shot")!, final: result.evaluation("final")!,
                                             seconds: result.seconds, curve: result.curve))
                }
            }
        }
        return out
    }
}
