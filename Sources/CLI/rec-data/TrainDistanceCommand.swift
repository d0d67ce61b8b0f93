import ArgumentParser
import Foundation
import RecCLI
import RecData
import RecDistances
import RecEmbedding
import RecKit
import RecNN
import RecReasoning
import RecRewards

/// `rec-data train-distance`: fits the learned description distance (`learned-bilinear`) on a
/// split's training part and writes it as a safetensors checkpoint.
///
/// Only the training part is read: rationales come from the (training-only) rationale run, labels
/// from the users' training ratings, and no held-out rating is loaded at all. `validate-rewards`
/// fits the same form (bit for bit, on the same machine and BLAS core) when it prepares the metric,
/// so the checkpoint is for inspection and for library users who score with a frozen form
/// (`LearnedBilinear(fit:)`).
struct TrainDistance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-distance",
        abstract: "Fit the learned description distance (learned-bilinear) on a split's training part; write a safetensors checkpoint.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var encoderOptions: EncoderOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split name (only its training part is read).") var split: String
    @Option(help: "Reasoner whose latest rationale run is used.") var reasoner = ReasonerName(.aspect)
    @Option(help: "L2 penalty on W.") var l2: Double = LearnedBilinear.defaultL2
    @Option(help: "Full-batch Adam iterations.") var iterations: Int = 80
    @Option(help: "Seed (only used when the examples are subsampled).") var seed: UInt64 = 1
    @Option(help: "Checkpoint to write (.safetensors).") var out: String
    @Flag(help: "No progress line.") var quiet = false

    func validate() throws {
        guard l2 >= 0, l2.isFinite else { throw ValidationError("--l2 must be a finite number ≥ 0, got \(l2)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be ≥ 1, got \(iterations)") }
        guard out.hasSuffix(".safetensors") else { throw ValidationError("--out must name a .safetensors file, got '\(out)'") }
    }

    func run() throws {
        do {
            let s = try store.open()
            let rationaleStore = try RationaleStore(store: s)
            let runRecord = try rationaleStore.latestRun(dataset: dataset, split: split, reasoner: reasoner.rawValue)
            let rationales = try rationaleStore.rationales(runID: runRecord.id)
            let encoder = try encoderOptions.makeSentenceEncoder()
            // heldOut: .train — the setup's "pairs" are then training ratings; nothing held out is read.
            let setup = try ScoringSetup.load(store: s, dataset: dataset, split: split, heldOut: .train, rationales: rationales,
                                              needs: [.sentenceEmbeddings, .rationales],
                                              encoders: .init(sentence: encoder, tokens: nil), seed: seed, showProgress: !quiet)
            let start = Date()
            let metric = LearnedBilinear(l2: l2, iterations: iterations)
            guard let fitted = (try metric.prepared(for: setup.context) as? LearnedBilinear)?.fitted else {
                throw StoreError.invalidArgument("learned-bilinear did not fit")
            }
            let d = fitted.weights.rows
            let metadata: [String: String] = [
                "format": "rationale-rec/learned-bilinear/1",
                "dataset": dataset, "split": split, "reasoner": runRecord.reasoner, "rationale_run": String(runRecord.id),
                "encoder": encoder.modelID, "l2": String(l2), "iterations": String(iterations), "seed": String(seed),
                "examples": String(fitted.examples), "user_item_pairs": String(fitted.userItemPairs),
                "initial_loss": String(fitted.initialLoss), "final_loss": String(fitted.finalLoss),
            ]
            try SafetensorsFile.write(["W": StoredTensor(shape: [d, d], floats: fitted.weights.storage),
                                       "b": StoredTensor(shape: [1], floats: [fitted.bias])],
                                      metadata: metadata, to: URL(fileURLWithPath: out))
            print(String(format: "fitted learned-bilinear on %d examples (%d user-item training pairs, rationale run %lld): loss %.4f → %.4f in %.1f s; wrote %@",
                         fitted.examples, fitted.userItemPairs, runRecord.id, fitted.initialLoss, fitted.finalLoss,
                         Date().timeIntervalSince(start), out))
        } catch {
            throw commandFailure(error)
        }
    }
}
