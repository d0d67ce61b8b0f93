import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecNumerics

/// Errors of the embeddings client. Messages never contain the API key.
public enum EmbeddingsClientError: Error, CustomStringConvertible {
    case missingAPIKey(variable: String)
    case http(status: Int, body: String)
    case malformedResponse(String)
    case transport(String)
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
/// Requests are batched; 429, 5xx and time-outs are retried with exponential backoff and full
/// jitter, honouring `Retry-After`. The API key is read from an environment variable at request
/// time and only ever sent in the `Authorization` header.
public final class OpenAIEmbeddingsClient: SentenceEncoder, @unchecked Sendable {
    // @unchecked: all stored properties are immutable; URLSession is thread-safe.

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
        /// Retries after the first attempt.
        public var maxRetries: Int
        /// First backoff in seconds; doubles per retry up to `maxBackoff`.
        public var initialBackoff: Double
        public var maxBackoff: Double
        /// Per-request timeout in seconds.
        public var timeout: Double
        /// L2-normalise the returned vectors.
        public var normalize: Bool

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
    }

    public let configuration: Configuration
    public var dimension: Int { configuration.dimension }
    /// `openai:<host><path>:<model>[:d<dimensions>][:norm]` — the endpoint and model, not the key.
    public let modelID: String
    private let session: URLSession

    public init(configuration: Configuration) {
        self.configuration = configuration
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = configuration.timeout
        c.timeoutIntervalForResource = configuration.timeout * 2
        session = URLSession(configuration: c)
        var id = "openai:\(configuration.baseURL.host ?? "")\(configuration.baseURL.port.map { ":\($0)" } ?? "")\(configuration.baseURL.path):\(configuration.model)"
        if let d = configuration.requestDimensions { id += ":d\(d)" }
        if configuration.normalize { id += ":norm" }
        modelID = id
    }

    deinit { session.finishTasksAndInvalidate() }

    public func encode(_ texts: [String], batchSize: Int) throws -> Matrix {
        let d = configuration.dimension
        var out = Matrix(rows: texts.count, cols: d)
        let step = max(1, min(batchSize, configuration.maxBatchSize))
        var start = 0
        while start < texts.count {
            let end = min(start + step, texts.count)
            let vectors = try requestWithRetries(Array(texts[start..<end]))
            for (i, v) in vectors.enumerated() {
                out.storage.replaceSubrange(((start + i) * d)..<((start + i + 1) * d), with: v)
            }
            start = end
        }
        if configuration.normalize { Kernels.l2NormalizeRows(&out) }
        return out
    }

    // MARK: Requests

    private enum Attempt {
        case success([[Float]])
        case retry(after: Double?, reason: String)
    }

    private func requestWithRetries(_ texts: [String]) throws -> [[Float]] {
        var attempt = 0
        while true {
            switch try perform(texts) {
            case .success(let v):
                return v
            case .retry(let retryAfter, let reason):
                guard attempt < configuration.maxRetries else {
                    throw EmbeddingsClientError.retriesExhausted(attempts: attempt + 1, last: reason)
                }
                let cap = min(configuration.maxBackoff, configuration.initialBackoff * pow(2, Double(attempt)))
                // Full jitter keeps many clients that failed together from retrying together.
                var delay = Double.random(in: (cap / 2)...max(cap / 2, cap))
                if let retryAfter { delay = max(delay, min(retryAfter, max(configuration.maxBackoff, retryAfter))) }
                Thread.sleep(forTimeInterval: delay)
                attempt += 1
            }
        }
    }

    private func perform(_ texts: [String]) throws -> Attempt {
        var request = URLRequest(url: configuration.baseURL.appendingPathComponent("embeddings"))
        request.httpMethod = "POST"
        request.timeoutInterval = configuration.timeout
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let v = configuration.apiKeyVariable {
            guard let key = ProcessInfo.processInfo.environment[v], !key.isEmpty else { throw EmbeddingsClientError.missingAPIKey(variable: v) }
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        }
        var body: [String: Any] = ["model": configuration.model, "input": texts, "encoding_format": "float"]
        if let d = configuration.requestDimensions { body["dimensions"] = d }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)

        let (data, response, error) = send(request)
        if let error {
            let ns = error as NSError
            let retryable: Set<Int> = [NSURLErrorTimedOut, NSURLErrorNetworkConnectionLost, NSURLErrorCannotConnectToHost,
                                       NSURLErrorNotConnectedToInternet, NSURLErrorDNSLookupFailed, NSURLErrorCannotFindHost]
            if ns.domain == NSURLErrorDomain && retryable.contains(ns.code) {
                return .retry(after: nil, reason: "transport: \(ns.localizedDescription)")
            }
            throw EmbeddingsClientError.transport(ns.localizedDescription)
        }
        guard let http = response as? HTTPURLResponse else { throw EmbeddingsClientError.transport("no HTTP response") }
        let status = http.statusCode
        let snippet = String(decoding: (data ?? Data()).prefix(500), as: UTF8.self)
        if status == 429 || status == 408 || (500...599).contains(status) {
            return .retry(after: Self.retryAfter(http.value(forHTTPHeaderField: "Retry-After")), reason: "HTTP \(status): \(snippet)")
        }
        guard (200...299).contains(status) else { throw EmbeddingsClientError.http(status: status, body: snippet) }
        return .success(try parse(data ?? Data(), expected: texts.count))
    }

    /// Runs one request synchronously (`encode` is synchronous by protocol).
    private func send(_ request: URLRequest) -> (Data?, URLResponse?, (any Error)?) {
        final class Box: @unchecked Sendable { var value: (Data?, URLResponse?, (any Error)?) = (nil, nil, nil) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { d, r, e in
            box.value = (d, r, e)
            done.signal()
        }
        task.resume()
        done.wait()
        return box.value
    }

    /// `Retry-After` as seconds: delta-seconds or an HTTP date.
    static func retryAfter(_ value: String?) -> Double? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        if let s = Double(v) { return max(0, s) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = f.date(from: v) { return max(0, date.timeIntervalSinceNow) }
        return nil
    }

    private func parse(_ data: Data, expected: Int) throws -> [[Float]] {
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw EmbeddingsClientError.malformedResponse("body is not a JSON object: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        guard let items = obj["data"] as? [[String: Any]] else { throw EmbeddingsClientError.malformedResponse("no \"data\" list") }
        guard items.count == expected else {
            throw EmbeddingsClientError.malformedResponse("\(items.count) embeddings for \(expected) inputs")
        }
        var out = [[Float]](repeating: [], count: expected)
        for (pos, item) in items.enumerated() {
            let index = (item["index"] as? Int) ?? pos
            guard index >= 0, index < expected, out[index].isEmpty else { throw EmbeddingsClientError.malformedResponse("bad or repeated index \(index)") }
            guard let raw = item["embedding"] as? [Any] else { throw EmbeddingsClientError.malformedResponse("item \(index) has no embedding list") }
            var v: [Float] = []
            v.reserveCapacity(raw.count)
            for x in raw {
                guard let n = x as? Double else { throw EmbeddingsClientError.malformedResponse("item \(index) has a non-numeric value") }
                v.append(Float(n))
            }
            guard v.count == configuration.dimension else {
                throw EmbeddingsClientError.malformedResponse("item \(index) has \(v.count) dimensions, expected \(configuration.dimension)")
            }
            out[index] = v
        }
        return out
    }
}
