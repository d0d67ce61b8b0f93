import ArgumentParser
import Foundation
import RecEmbedding

/// `--encoder`: which sentence encoder embeds item texts and rationales.
public enum EncoderKind: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// A BERT sentence-transformers model: all-MiniLM-L6-v2 from the cache by default, or the
    /// folder `--model` names (ELLM itself used paraphrase-MiniLM-L3-v2; Docs/metrics.md).
    case minilm
    /// Hashed bag of words: no model files, for quick runs and tests.
    case hashing
}

/// `--model` and `--threads`: where the sentence-transformers model lives and how many BLAS
/// threads it may use. Shared by every command that embeds text.
public struct EncoderOptions: ParsableArguments {
    /// A sentence-transformers model folder; nil means all-MiniLM-L6-v2 from the cache.
    @Option(name: .customLong("model"), help: "Sentence-transformers BERT model folder (default: all-MiniLM-L6-v2, fetched into the cache; ELLM used paraphrase-MiniLM-L3-v2).")
    public var modelDirectory: String?
    /// BLAS threads; nil leaves the choice to `$REC_BLAS_THREADS` or OpenBLAS.
    @Option(name: .customLong("threads"), help: "BLAS threads (default: $REC_BLAS_THREADS or OpenBLAS's choice).")
    public var threads: Int?

    public init() {}

    /// `--threads 0` (or less) would leave BLAS with no thread to run on: refused at parse time.
    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1 (got \(threads))") }
    }

    /// The BERT sentence encoder the options name, fetching MiniLM into the cache when no folder
    /// is given (idempotent: a verified cached copy is reused).
    public func makeBERTEncoder() throws -> BERTSentenceEncoder {
        let dir = try modelDirectory.map { URL(fileURLWithPath: $0) } ?? ModelStore().ensureMiniLM()
        return try BERTSentenceEncoder(modelDirectory: dir, threads: threads)
    }
}
