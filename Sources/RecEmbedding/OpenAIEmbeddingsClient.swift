import Foundation
import RecKit
import RecNumerics

/// Errors of the embeddings client. Messages never contain the API key.
public enum EmbeddingsClientError: Error, CustomStringConvertible {
    case missingAPIKey(variable: String)
    case http(status: Int, body: String)
    case malformedResponse(String)
    case transport(String)
    /// The last failure was retryable (429, 5xx, time-out, connection) but the retries ran out;
    /// `last` is the HTTP client's message (URL, status or cause, attempts, body preview).
    case retriesExhausted(attempts: Int, last: String)

    public var description: String {
        switch self {
        case let .missingAPIKey(v): return "environment variable \(v) (the API key) is not set"
        case let .http(s, b): return "HTTP \(s): \(b)"
        case let .malformedResponse(r): return "malformed embeddings response: \(r)"
        case let .transport(r): return "transport error: \(r)"
        case let .retriesExhausted(n, last): return "gave up after \(n) attempts; last error: \(last)"
        }
    }
}

/// A client for OpenAI-compatible `POST {baseURL}/embeddings` endpoints (OpenAI, vLLM, llama.cpp
/// server, Ollama's OpenAI API, text-embeddings-inference), usable wherever a `SentenceEncoder`
/// is expected.
///
/// Requests are batched and sent with RecKit's `JSONHTTPClient`, the client the chat reasoner
/// uses: 429, 5xx, time-outs and broken connections are retried with exponential backoff and
/// jitter, honouring `Retry-After` on 429/503. The API key is read from an environment variable
/// at request time and only ever sent in the `Authorization` header.
///
/// `encode` is synchronous (the `SentenceEncoder` protocol) and blocks its thread until the
/// requests are done; see `Blocking.wait` for why that is safe, though wasteful, from async code.
public final class OpenAIEmbeddingsClient: SentenceEncoder, @unchecked Sendable {
    // @unchecked: `configuration` and `modelID` are immutable; the cached HTTP client is guarded by `lock`.

    /// Client settings.
    public struct Configuration: Sendable {
        /// API root including the version, e.g. `https://api.openai.com/v1`.
        public var baseURL: URL
        public var model: String
        /// Width of the returned vectors; responses of another width are an error.
        public var dimension: Int
        /// Sent as `dimensions` (models that can shorten their output) when set.
        public var requestDimensions: Int?
        /// Name of the environment variable holding the key; nil sends no Authorization header.
        public var apiKeyVariable: String?
        /// Texts per request at most (the `batchSize` argument of `encode` can only lower it).
        public var maxBatchSize: Int
        /// Retries after the first attempt (`RetryPolicy.maxAttempts` is this plus one).
        public var maxRetries: Int
        /// First backoff in seconds; doubles per retry up to `maxBackoff`.
        public var initialBackoff: Double
        public var maxBackoff: Double
        /// Per-request timeout in seconds.
        public var timeout: Double
        /// L2-normalise the returned vectors.
        public var normalize: Bool
        /// Names the vectors in caches in place of the endpoint (`openai:IDENTITY`): for a local
        /// server whose port changes between starts, the same model keeps its cached vectors.
        /// Nil keys by endpoint and model, the safe default.
        public var identity: String?

        public init(baseURL: URL, model: String, dimension: Int, requestDimensions: Int? = nil,
                    apiKeyVariable: String? = "OPENAI_API_KEY", maxBatchSize: Int = 256, maxRetries: Int = 5,
                    initialBackoff: Double = 0.5, maxBackoff: Double = 30, timeout: Double = 60, normalize: Bool = false) {
            self.baseURL = baseURL
            self.model = model
            self.dimension = dimension
            self.requestDimensions = requestDimensions
            self.apiKeyVariable = apiKeyVariable
            self.maxBatchSize = maxBatchSize
            self.maxRetries = maxRetries
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.timeout = timeout
            self.normalize = normalize
        }

        /// The retry policy these settings describe. Bodies that fail to decode are not retried
        /// (a server that answers with the wrong width will do so again).
        public var retryPolicy: RetryPolicy {
            RetryPolicy(maxAttempts: max(0, maxRetries) + 1, initialBackoff: initialBackoff, multiplier: 2,
                        maxBackoff: maxBackoff, maxRetryAfter: max(120, maxBackoff), retryInvalidBody: false)
        }
    }

    public let configuration: Configuration
    public var dimension: Int { configuration.dimension }
    /// `openai:<host>[:<port>]<path>:<model>[:d<dimensions>][:norm]`, the endpoint and model, not
    /// the key; or `openai:<identity>[:d…][:norm]` when the configuration names one.
    public let modelID: String
    private let lock = NSLock()
    /// The HTTP client for the key last read (the key can change between calls; headers cannot).
    private var cached: (key: String?, client: JSONHTTPClient)?

    public init(configuration: Configuration) {
        self.configuration = configuration
        let endpoint = "\(configuration.baseURL.host ?? "")\(configuration.baseURL.port.map { ":\($0)" } ?? "")\(configuration.baseURL.path):\(configuration.model)"
        var id = "openai:\(configuration.identity ?? endpoint)"
        if let d = configuration.requestDimensions { id += ":d\(d)" }
        if configuration.normalize { id += ":norm" }
        modelID = id
    }

    public func encode(_ texts: [String], batchSize: Int) throws -> Matrix {
        let d = configuration.dimension
        var out = Matrix(rows: texts.count, cols: d)
        guard !texts.isEmpty else { return out }
        let client = try httpClient()
        let step = max(1, min(batchSize, configuration.maxBatchSize))
        let batches = stride(from: 0, to: texts.count, by: step).map { start in Array(texts[start..<min(start + step, texts.count)]) }
        let vectors: [[[Float]]] = try Blocking.wait { [self] in
            var all: [[[Float]]] = []
            for batch in batches { all.append(try await self.request(batch, client: client)) }
            return all
        }
        var row = 0
        for batch in vectors {
            for v in batch {
                out.storage.replaceSubrange((row * d)..<((row + 1) * d), with: v)
                row += 1
            }
        }
        if configuration.normalize { Kernels.l2NormalizeRows(&out) }
        return out
    }

    /// `Retry-After` as seconds: delta-seconds or an HTTP date (`RetryPolicy.parseRetryAfter`).
    static func retryAfter(_ value: String?) -> Double? { RetryPolicy.parseRetryAfter(value) }

    // MARK: Requests

    private struct Request: Encodable, Sendable {
        var model: String
        var input: [String]
        var encoding_format = "float"
        /// Omitted when nil.
        var dimensions: Int?
    }

    /// A 2xx body the client cannot use; becomes `EmbeddingsClientError.malformedResponse`.
    private struct Malformed: Error, CustomStringConvertible { var description: String }

    /// The HTTP client with the current key in its headers.
    private func httpClient() throws -> JSONHTTPClient {
        var key: String?
        if let v = configuration.apiKeyVariable {
            guard let k = ProcessInfo.processInfo.environment[v], !k.isEmpty else { throw EmbeddingsClientError.missingAPIKey(variable: v) }
            key = k
        }
        return lock.withLock {
            if let cached, cached.key == key { return cached.client }
            let c = configuration
            let client = JSONHTTPClient(baseURL: c.baseURL, headers: key.map { ["Authorization": "Bearer \($0)"] } ?? [:],
                                        timeout: c.timeout, retryPolicy: c.retryPolicy)
            cached = (key, client)
            return client
        }
    }

    private func request(_ texts: [String], client: JSONHTTPClient) async throws -> [[Float]] {
        let body = Request(model: configuration.model, input: texts, dimensions: configuration.requestDimensions)
        let expected = texts.count, dimension = configuration.dimension
        do {
            return try await client.post("embeddings", body: body) { data in
                try OpenAIEmbeddingsClient.parse(data, expected: expected, dimension: dimension)
            }.value
        } catch let e as HTTPClientError {
            throw Self.map(e, policy: client.retryPolicy)
        }
    }

    /// Keeps the error cases callers match on; the retryable failures carry the shared client's
    /// message, which names the URL, the status or cause, the attempts and a body preview.
    static func map(_ e: HTTPClientError, policy: RetryPolicy) -> EmbeddingsClientError {
        switch e {
        case let .status(_, status, _, preview) where !policy.isRetryable(status: status):
            return .http(status: status, body: preview)
        case .status, .timeout, .transport:
            return .retriesExhausted(attempts: e.attempts, last: e.description)
        case let .invalidBody(url, status, message, _, _):
            return .malformedResponse("\(message) (HTTP \(status) from \(url))")
        case .invalidRequest, .cancelled:
            return .transport(e.description)
        }
    }

    /// Asks the server for the embedding of one short text and returns its width: what a caller
    /// that was not told `dimension` passes to `Configuration`. The probe text's vector is not
    /// kept; a server that is down or answers badly fails here, before any work starts.
    public static func probeDimension(_ configuration: Configuration) throws -> Int {
        let probe = OpenAIEmbeddingsClient(configuration: configuration)
        let client = try probe.httpClient()
        let body = Request(model: configuration.model, input: ["dimension probe"], dimensions: configuration.requestDimensions)
        do {
            let vectors = try Blocking.wait {
                try await client.post("embeddings", body: body) { data in
                    try OpenAIEmbeddingsClient.parse(data, expected: 1, dimension: nil)
                }.value
            }
            guard let width = vectors.first?.count, width > 0 else { throw EmbeddingsClientError.malformedResponse("an empty embedding") }
            return width
        } catch let e as HTTPClientError {
            throw map(e, policy: client.retryPolicy)
        }
    }

    /// Parses an embeddings answer; `dimension` nil accepts any width, the same for every item.
    static func parse(_ data: Data, expected: Int, dimension: Int?) throws -> [[Float]] {
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Malformed(description: "body is not a JSON object: \(JSONHTTPClient.preview(data, limit: 200))")
        }
        guard let items = obj["data"] as? [[String: Any]] else { throw Malformed(description: "no \"data\" list") }
        guard items.count == expected else {
            throw Malformed(description: "\(items.count) embeddings for \(expected) inputs")
        }
        var out = [[Float]](repeating: [], count: expected)
        for (pos, item) in items.enumerated() {
            let index = (item["index"] as? Int) ?? pos
            guard index >= 0, index < expected, out[index].isEmpty else { throw Malformed(description: "bad or repeated index \(index)") }
            guard let raw = item["embedding"] as? [Any] else { throw Malformed(description: "item \(index) has no embedding list") }
            var v: [Float] = []
            v.reserveCapacity(raw.count)
            for x in raw {
                guard let n = x as? Double else { throw Malformed(description: "item \(index) has a non-numeric value") }
                v.append(Float(n))
            }
            if let dimension, v.count != dimension {
                throw Malformed(description: "item \(index) has \(v.count) dimensions, expected \(dimension)")
            }
            out[index] = v
        }
        if dimension == nil, let w = out.first?.count, out.contains(where: { $0.count != w }) {
            throw Malformed(description: "items of different widths (\(Set(out.map(\.count)).sorted()))")
        }
        return out
    }
}
