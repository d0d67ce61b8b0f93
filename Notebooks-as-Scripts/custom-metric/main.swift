// A notebook as a script: add your own description-distance metric and validate it against
// held-out ratings next to the library's metrics, in a few lines.
//
//   swift run notebook-custom-metric --db runs/demo.sqlite --dataset ml-100k --split random
//
// (after `bash run.sh demo`, which fetches ml-100k, splits it and writes aspect rationales).
import Foundation
import RecData
import RecDistances
import RecEmbedding
import RecNumerics
import RecReasoning
import RecRewards
import RecValidation

// 1. The metric: one small type. Here, an angular similarity, 1 − θ/π, which spreads out the
//    crowded top of the cosine scale. `needs` says what the run must prepare for it.
struct AngularSimilarity: DescriptionDistance {
    var name: String { "angular" }
    var summary: String { "1 − angle/π between sentence embeddings" }
    var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    var range: ClosedRange<Double>? { 0...1 }

    func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        var s = SBERTCosine().similarities(items: items, user: user, context: context)
        for k in s.storage.indices { s.storage[k] = 1 - acos(max(-1, min(1, s.storage[k]))) / Float.pi }
        return s
    }
}

// 2. Registration: one line.
var registry = MetricRegistry.standard
registry.register(AngularSimilarity())

// 3. A validation run, exactly as `validate-rewards` does it.
func argument(_ name: String, default value: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: "--" + name), i + 1 < args.count else { return value }
    return args[i + 1]
}
BLASRuntime.reexecWithOptimalCoreIfNeeded()
let db = argument("db", default: "runs/demo.sqlite")
let dataset = argument("dataset", default: "ml-100k"), split = argument("split", default: "random")
do {
    let store = try RatingStore(path: db)
    let rationales = try RationaleStore(store: store).rationales(dataset: dataset, split: split, reasoner: "aspect")
    let metrics = try registry.metrics(named: "sbert-cosine,angular,centroid-cosine")
    let encoder = try BERTSentenceEncoder(modelDirectory: try ModelStore().ensureMiniLM())
    let setup = try ScoringSetup.load(store: store, dataset: dataset, split: split, rationales: rationales,
                                      needs: [.sentenceEmbeddings, .rationales], encoders: .init(sentence: encoder, tokens: nil), seed: 1)
    var config = RewardValidationConfiguration(dataset: dataset, split: split, reasoner: "aspect", metrics: metrics.map(\.name))
    config.likeThreshold = setup.dataset.scale.likeThreshold
    config.bootstrapResamples = 300
    let report = try RewardValidation.run(setup: setup, metrics: metrics, configuration: config)
    print(ValidationReportWriter.terminal(report))
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
