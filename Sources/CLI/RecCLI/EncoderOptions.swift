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

/// Where sentence embeddings come from, shared by every command that embeds text: an in-process
/// BERT model (`--model`, `--threads`) or an OpenAI-compatible embeddings server
/// (`--embeddings-url` and its companions: text-embeddings-inference, vLLM, llama-server
/// `--embeddings`, OpenAI).
///
/// Both kinds share the store's embedding cache, which keys vectors by the encoder's model id:
/// `bert-st:…` for the in-process model and `openai:HOST:PORT/PATH:MODEL` (or `openai:ID` with
/// `--embeddings-id ID`) for a server, so vectors from one never stand in for the other's.
public struct EncoderOptions: ParsableArguments {
    /// A sentence-transformers model folder; nil means all-MiniLM-L6-v2 from the cache.
    @Option(name: .customLong("model"), help: "Sentence-transformers BERT model folder (default: all-MiniLM-L6-v2, fetched into the cache; ELLM used paraphrase-MiniLM-L3-v2).")
    public var modelDirectory: String?
    /// BLAS threads; nil leaves the choice to `$REC_BLAS_THREADS` or OpenBLAS.
    @Option(name: .customLong("threads"), help: "BLAS threads (default: $REC_BLAS_THREADS or OpenBLAS's choice).")
    public var threads: Int?
    /// An OpenAI-compatible API root (with its version, e.g. `http://127.0.0.1:8080/v1`); when
    /// set, sentence embeddings come from its `POST /embeddings` instead of the in-process model.
    @Option(name: .customLong("embeddings-url"), help: "OpenAI-compatible embeddings server, e.g. http://127.0.0.1:8080/v1 (TEI, vLLM, llama-server --embeddings, OpenAI); replaces the in-process model for sentence embeddings.")
    public var embeddingsURL: String?
    /// The model name sent to the server.
    @Option(name: .customLong("embeddings-model"), help: "With --embeddings-url: the model name sent to the server.")
    public var embeddingsModel = "default"
    /// The vector width; nil asks the server once (one short probe text) before any work.
    @Option(name: .customLong("embeddings-dimension"), help: "With --embeddings-url: the vector width (default: asked of the server with one probe text).")
    public var embeddingsDimension: Int?
    /// The environment variable holding the key; nil sends no `Authorization` header.
    @Option(name: .customLong("embeddings-api-key-env"), help: "With --embeddings-url: name of the environment variable holding the API key (never printed or stored).")
    public var embeddingsAPIKeyEnv: String?
    /// A name for the server's vectors in the cache, in place of its URL.
    @Option(name: .customLong("embeddings-id"), help: "With --embeddings-url: name the vectors in the embedding cache by this (e.g. the model and pooling) instead of by URL and model, so a local server on a new port reuses them.")
    public var embeddingsID: String?
    /// Texts per request.
    @Option(name: .customLong("embeddings-batch"), help: "With --embeddings-url: texts per request.")
    public var embeddingsBatch = 64
    /// Per-request timeout in seconds.
    @Option(name: .customLong("embeddings-timeout"), help: "With --embeddings-url: per-request timeout in seconds.")
    public var embeddingsTimeout = 120.0

    public init() {}

    /// True when sentence embeddings come from a server.
    public var usesServer: Bool { embeddingsURL != nil }

    /// Refused at parse time: `--threads 0` would leave BLAS with no thread to run on; the server
    /// options must make a usable client.
    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1 (got \(threads))") }
        if let embeddingsURL {
            guard let url = URL(string: embeddingsURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--embeddings-url must be an http(s) URL such as http://127.0.0.1:8080/v1 (got '\(embeddingsURL)')")
            }
            if modelDirectory != nil { throw ValidationError("--model (an in-process BERT folder) and --embeddings-url (a server) exclude each other") }
        }
        if let id = embeddingsID, id.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--embeddings-id must not be empty") }
        if let d = embeddingsDimension, d < 1 { throw ValidationError("--embeddings-dimension must be ≥ 1 (got \(d))") }
        guard embeddingsBatch >= 1 else { throw ValidationError("--embeddings-batch must be ≥ 1 (got \(embeddingsBatch))") }
        guard embeddingsTimeout > 0, embeddingsTimeout.isFinite else { throw ValidationError("--embeddings-timeout must be a positive number of seconds (got \(embeddingsTimeout))") }
    }

    /// The BERT sentence encoder the options name, fetching MiniLM into the cache when no folder
    /// is given (idempotent: a verified cached copy is reused). Token-level metrics need it even
    /// when sentence vectors come from a server.
    public func makeBERTEncoder() throws -> BERTSentenceEncoder {
        let dir = try modelDirectory.map { URL(fileURLWithPath: $0) } ?? ModelStore().ensureMiniLM()
        return try BERTSentenceEncoder(modelDirectory: dir, threads: threads)
    }

    /// The server client the options describe, or nil without `--embeddings-url`. Without
    /// `--embeddings-dimension` it asks the server for the width first, so a server that is down
    /// fails here with its URL, before any work.
    public func makeServerEncoder() throws -> OpenAIEmbeddingsClient? {
        guard let embeddingsURL, let url = URL(string: embeddingsURL) else { return nil }
        var c = OpenAIEmbeddingsClient.Configuration(baseURL: url, model: embeddingsModel, dimension: embeddingsDimension ?? 0,
                                                     apiKeyVariable: embeddingsAPIKeyEnv, maxBatchSize: embeddingsBatch,
                                                     maxRetries: 3, timeout: embeddingsTimeout)
        c.identity = embeddingsID
        if embeddingsDimension == nil { c.dimension = try OpenAIEmbeddingsClient.probeDimension(c) }
        return OpenAIEmbeddingsClient(configuration: c)
    }

    /// The sentence encoder: the server when `--embeddings-url` is given, else the BERT model.
    public func makeSentenceEncoder() throws -> any SentenceEncoder {
        if let server = try makeServerEncoder() { return server }
        return try makeBERTEncoder()
    }

    /// A short name for messages: the model folder's name or the server model id.
    public static func describe(_ encoder: any SentenceEncoder) -> String {
        (encoder as? BERTSentenceEncoder)?.directory.lastPathComponent ?? encoder.modelID
    }
}
