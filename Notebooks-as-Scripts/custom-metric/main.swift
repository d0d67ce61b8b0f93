// A notebook as a script: add your own description-distance metric and validate it against
// held-out ratings next to the library's metrics. The whole program is the metric and one line.
//
//   swift run notebook-custom-metric --db runs/demo.sqlite --dataset ml-100k --split random \
//       --metrics sbert-cosine,angular --bootstrap 300
//
// (after `bash run.sh demo`, which fetches ml-100k, splits it and writes aspect rationales). Every
// flag of `validate-rewards` works; `--metrics all` and `--list-metrics` include `angular`.
//
// The same file builds outside this repository, in a package that depends on RationaleRec through
// a versioned URL: Notebooks-as-Scripts/check-consumer.sh does exactly that.
import Foundation
import RecCLI
import RecDistances
import RecNumerics

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

// 2. The whole validate-rewards command line, with the metric added.
ValidateRewardsCommand.main(adding: [AngularSimilarity()])
