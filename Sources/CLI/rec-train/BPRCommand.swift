import ArgumentParser
import Foundation
import RecAgents
import RecCLI
import RecData
import RecKit

/// `rec-train bpr`: BPR-MF, the non-RL baseline, in RecBole's full-ranking protocol, so the
/// library's figure sits beside RecBole's published ml-100k one.
struct BPR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bpr",
        abstract: "Train BPR-MF on a split's training ratings (early stopping on valid) and evaluate full ranking on test, RecBole's protocol.",
        discussion: """
        RecBole's published ml-100k figures for BPR (random 8:1:1 split, full ranking) are NDCG@10 \
        \(String(format: "%.4f", BPR.recBoleNDCG)) and Hit@10 \(String(format: "%.4f", BPR.recBoleHit)); the report gives this run's distance from them. \
        Use a split made with `rec-data split --method random --ratios 0.8,0.1,0.1`.
        """)
    /// RecBole's published BPR figures on ml-100k (random 8:1:1, full ranking), the anchor the report compares with.
    static let recBoleNDCG = 0.2768
    static let recBoleHit = 0.7614

    @OptionGroup var store: StoreOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split name (train / valid for early stopping / test).") var split: String
    @Option(help: "Seed (initialisation, order, negatives).") var seed: UInt64 = 1
    @Option(help: "Embedding width.") var dimension = 64
    @Option(name: .customLong("lr"), help: "Adam learning rate.") var learningRate = 1e-3
    @Option(name: .customLong("batch-size")) var batchSize = 2048
    @Option(help: "Most epochs.") var epochs = 300
    @Option(help: "Epochs without a better validation NDCG@10 before stopping.") var patience = 10
    @Option(help: "Run folder.") var out: String
    @Flag(help: "No progress line.") var quiet = false

    func validate() throws {
        var c = BPRMF.Configuration()
        (c.dimension, c.learningRate, c.batchSize, c.maxEpochs, c.patience) = (dimension, learningRate, batchSize, epochs, patience)
        do { try c.validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        do {
            let folder = ReportFolder(path: out)
            try folder.prepare()
            let s = try RatingStore(path: store.db, readOnly: true)
            // A bag-of-words encoder: BPR never reads item texts, and it needs no model.
            let data = try AgentDataset.load(store: s, dataset: dataset, split: split, encoder: HashingEncoder(dimension: 16),
                                             rationales: [:], allowEncoding: true, showProgress: !quiet)
            var c = BPRMF.Configuration()
            (c.dimension, c.learningRate, c.batchSize, c.maxEpochs, c.patience, c.seed) = (dimension, learningRate, batchSize, epochs, patience, seed)
            let start = Date()
            let model = try BPRMF(dataset: data, configuration: c)
            let test = FullRankingEvaluation.evaluate(model, dataset: data, part: .test)
            let seconds = Date().timeIntervalSince(start)
            struct Report: Encodable {
                var dataset: String, split: String, configuration: BPRMF.Configuration
                var epochs: Int, bestEpoch: Int, validationNDCG: [Double], seconds: Double
                var k: Int, users: Int, ndcg: Double, hit: Double
                var recBoleNDCG: Double, recBoleHit: Double, ndcgMinusRecBole: Double, hitMinusRecBole: Double
            }
            let r = Report(dataset: dataset, split: split, configuration: c, epochs: model.validationCurve.count, bestEpoch: model.bestEpoch,
                           validationNDCG: model.validationCurve, seconds: seconds, k: test.k, users: test.rows.count,
                           ndcg: test.ndcg, hit: test.hit, recBoleNDCG: BPR.recBoleNDCG, recBoleHit: BPR.recBoleHit,
                           ndcgMinusRecBole: test.ndcg - BPR.recBoleNDCG, hitMinusRecBole: test.hit - BPR.recBoleHit)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            var csv = "user_id,relevant,ndcg@10,hit@10\n"
            for row in test.rows { csv += "\(row.userID),\(row.relevant),\(String(format: "%.9g", row.ndcg)),\(Int(row.hit))\n" }
            let summary = String(format: "BPR-MF on %@/%@ (RecBole protocol, full ranking, %d test users): NDCG@10 %.4f (RecBole %.4f, %+.4f), Hit@10 %.4f (RecBole %.4f, %+.4f); best epoch %d of %d, %.1f s",
                                 dataset, split, test.rows.count, test.ndcg, BPR.recBoleNDCG, test.ndcg - BPR.recBoleNDCG,
                                 test.hit, BPR.recBoleHit, test.hit - BPR.recBoleHit, model.bestEpoch, model.validationCurve.count, seconds)
            try folder.replace(with: ["results.json": try enc.encode(r), "per-user.csv": Data(csv.utf8), "results.md": Data((summary + "\n").utf8)])
            print(summary)
        } catch {
            throw commandFailure(error)
        }
    }
}
