import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A failed exchange with an HTTP server, after all attempts the `RetryPolicy` allowed.
///
/// Every case names the URL and the number of attempts made, so a message in a log says where
/// and how hard the client tried. Header values (API keys among them) never appear.
public enum HTTPClientError: Error, CustomStringConvertible, Sendable {
    /// The server answered with a non-2xx status.
    case status(url: String, status: Int, attempts: Int, bodyPreview: String)
    /// No answer within the per-request timeout.
    case timeout(url: String, seconds: Double, attempts: Int)
    /// The connection failed or broke (refused, reset, body shorter than its Content-Length).
    case transport(url: String, message: String, attempts: Int)
    /// A 2xx answer whose body the caller could not use (malformed JSON, missing fields).
    case invalidBody(url: String, status: Int, message: String, attempts: Int, bodyPreview: String)
    /// The request could not be built (bad URL, unencodable body).
    case invalidRequest(url: String, message: String)
    /// The surrounding task was cancelled.
    case cancelled(url: String, attempts: Int)

    /// Attempts made before giving up.
    public var attempts: Int {
        switch self {
        case .status(_, _, let a, _), .timeout(_, _, let a), .transport(_, _, let a), .invalidBody(_, _, _, let a, _),
             .cancelled(_, let a):
            return a
        case .invalidRequest: return 0
        }
    }

    /// The URL of the failed request.
    public var url: String {
        switch self {
        case .status(let u, _, _, _), .timeout(let u, _, _), .transport(let u, _, _), .invalidBody(let u, _, _, _, _),
             .invalidRequest(let u, _), .cancelled(let u, _):
            return u
        }
    }

    /// Whether the policy may try again after this failure (before counting attempts).
    func isRetryable(_ policy: RetryPolicy) -> Bool {
        switch self {
        case .status(_, let s, _, _): return policy.isRetryable(status: s)
        case .timeout, .transport: return true
        case .invalidBody: return policy.retryInvalidBody
        case .invalidRequest, .cancelled: return false
        }
    }

    func with(attempts n: Int) -> HTTPClientError {
        switch self {
        case let .status(u, s, _, b): return .status(url: u, status: s, attempts: n, bodyPreview: b)
        case let .timeout(u, t, _): return .timeout(url: u, seconds: t, attempts: n)
        case let .transport(u, m, _): return .transport(url: u, message: m, attempts: n)
        case let .invalidBody(u, s, m, _, b): return .invalidBody(url: u, status: s, message: m, attempts: n, bodyPreview: b)
        case .invalidRequest: return self
        case let .cancelled(u, _): return .cancelled(url: u, attempts: n)
        }
    }

    private static func tries(_ n: Int) -> String { n == 1 ? "1 attempt" : "\(n) attempts" }

    public var description: String {
        switch self {
        case let .status(u, s, a, b):
            return "HTTP \(s) from \(u) after \(HTTPClientError.tries(a))\(b.isEmpty ? "" : "; body: \(b)")"
        case let .timeout(u, t, a):
            return "no answer from \(u) within \(String(format: "%.3g", t)) s (timeout) after \(HTTPClientError.tries(a))"
        case let .transport(u, m, a):
            return "connection to \(u) failed after \(HTTPClientError.tries(a)): \(m)"
        case let .invalidBody(u, s, m, a, b):
            return "unusable HTTP \(s) answer from \(u) after \(HTTPClientError.tries(a)): \(m)\(b.isEmpty ? "" : "; body: \(b)")"
        case let .invalidRequest(u, m):
            return "cannot send a request to \(u): \(m)"
        case let .cancelled(u, a):
            return "request to \(u) cancelled after \(HTTPClientError.tries(a))"
        }
    }
}

/// One successful exchange: the decoded value and what it took to get it.
public struct HTTPExchange<Value: Sendable>: Sendable {
    public var value: Value
    public var status: Int
    /// Attempts made, including the successful one.
    public var attempts: Int
    /// Seconds spent waiting between attempts (backoff and `Retry-After`).
    public var waited: Double
}

/// A small JSON-over-HTTP client with per-request timeouts and retries.
///
/// Shared by every layer that talks to a model server (chat completions for reasoners, embedding
/// endpoints): one place knows how to back off, honour `Retry-After`, detect truncated bodies and
/// phrase errors.
///
/// Transport is AsyncHTTPClient (SwiftNIO, epoll), not URLSession: on Linux, corelibs URLSession
/// drives libcurl's multi interface through dispatch sources that re-arm continuously while a
/// request is in flight, so a client waiting on a slow model server burned 94–136 % of a core
/// (about 5,000 `epoll_ctl` and 2,500 `poll` calls per second for 4 requests in flight), taking
/// that core from the model it waits on. With NIO the wait costs next to nothing
/// (`bench-http`, Docs/benchmarks.md).
public final class JSONHTTPClient: @unchecked Sendable {
    /// Requests go to `baseURL` + a relative path ("chat/completions").
    public let baseURL: URL
    /// Headers sent with every request (e.g. `Authorization`). Never printed or logged.
    private let headers: [String: String]
    /// Seconds without an answer before an attempt counts as timed out.
    public let timeout: Double
    public let retryPolicy: RetryPolicy
    private let http: HTTPClient
    // The jitter stream is shared by concurrent requests, so it sits behind a lock.
    private let lock = NSLock()
    private var generator: SeededGenerator
    private let sleeper: @Sendable (Double) async throws -> Void

    /// - Parameters:
    ///   - baseURL: e.g. `http://127.0.0.1:8080/v1`; a path given to `send` is appended to it.
    ///   - headers: sent with every request; their values never appear in errors.
    ///   - timeout: per-attempt limit in seconds.
    ///   - generator: the source of backoff jitter (seeded, so waits are reproducible).
    ///   - maxConnections: connections per host the client keeps open at once.
    ///   - sleep: how to wait between attempts (tests may record instead of sleeping).
    public init(baseURL: URL, headers: [String: String] = [:], timeout: Double = 60, retryPolicy: RetryPolicy = RetryPolicy(),
                generator: SeededGenerator = SeededGenerator(seed: 0x5EED), maxConnections: Int = 8,
                sleep: (@Sendable (Double) async throws -> Void)? = nil) {
        self.baseURL = baseURL
        self.headers = headers
        self.timeout = timeout
        self.retryPolicy = retryPolicy
        self.generator = generator
        var config = HTTPClient.Configuration()
        // Retries are the RetryPolicy's (counted, backed off, reported); NIO must not retry a
        // refused connection on its own until its connect timeout.
        config.connectionPool.retryConnectionEstablishment = false
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, maxConnections)
        config.timeout = .init(connect: .nanoseconds(Int64(min(timeout, 86_400) * 1e9)), read: nil)
        config.redirectConfiguration = .follow(max: 5, allowCycles: false)
        config.decompression = .disabled
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
        self.sleeper = sleep ?? { seconds in
            if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
        }
    }

    // The callback form never blocks, so the last reference may go away on any thread.
    deinit { http.shutdown { _ in } }

    /// Largest answer body accepted (a model server's JSON answer is far smaller).
    static let maximumBodyBytes = 256 << 20

    /// The absolute URL for a path relative to the base URL.
    public func url(for path: String) -> URL {
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        if trimmed.isEmpty { return baseURL }
        return baseURL.appendingPathComponent(trimmed)
    }

    /// POSTs `body` as JSON to `path` and decodes the answer with `decode`, retrying per the policy.
    ///
    /// `decode` sees the raw 2xx body; anything it throws is an `invalidBody` failure (retried when
    /// `retryPolicy.retryInvalidBody`). This is where callers reject answers that parse but are
    /// unusable (an empty `choices` array).
    public func post<Body: Encodable, Value: Sendable>(
        _ path: String, body: Body, decode: @escaping @Sendable (Data) throws -> Value
    ) async throws -> HTTPExchange<Value> {
        let u = url(for: path)
        let data: Data
        do {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            data = try enc.encode(body)
        } catch {
            throw HTTPClientError.invalidRequest(url: u.absoluteString, message: "cannot encode the JSON body: \(error)")
        }
        return try await send(method: "POST", url: u, body: data, decode: decode)
    }

    /// POSTs and decodes the answer as `Value` with `JSONDecoder`.
    public func post<Body: Encodable, Value: Decodable & Sendable>(_ path: String, body: Body, as: Value.Type) async throws -> HTTPExchange<Value> {
        try await post(path, body: body) { data in try JSONDecoder().decode(Value.self, from: data) }
    }

    /// GETs `path` and decodes the answer with `decode`, retrying per the policy.
    public func get<Value: Sendable>(_ path: String, decode: @escaping @Sendable (Data) throws -> Value) async throws -> HTTPExchange<Value> {
        try await send(method: "GET", url: url(for: path), body: nil, decode: decode)
    }

    /// The retry loop shared by all methods.
    public func send<Value: Sendable>(method: String, url: URL, body: Data?,
                                      decode: @escaping @Sendable (Data) throws -> Value) async throws -> HTTPExchange<Value> {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        }
        request.headers.replaceOrAdd(name: "Accept", value: "application/json")
        for (k, v) in headers { request.headers.replaceOrAdd(name: k, value: v) }
        let urlString = url.absoluteString
        var waited = 0.0
        var attempt = 0
        while true {
            attempt += 1
            if Task.isCancelled { throw HTTPClientError.cancelled(url: urlString, attempts: attempt - 1) }
            var retryAfter: Double?
            let failure: HTTPClientError
            do {
                let (data, response) = try await perform(request)
                let status = Int(response.status.code)
                if (200...299).contains(status) {
                    if let expected = Self.contentLength(response), expected > data.count {
                        failure = .transport(url: urlString, message: "body truncated: \(data.count) of \(expected) bytes (Content-Length) arrived", attempts: attempt)
                    } else {
                        do {
                            let value = try decode(data)
                            return HTTPExchange(value: value, status: status, attempts: attempt, waited: waited)
                        } catch {
                            failure = .invalidBody(url: urlString, status: status, message: Self.describe(decodingError: error),
                                                   attempts: attempt, bodyPreview: Self.preview(data))
                        }
                    }
                } else {
                    if status == 429 || status == 503 {
                        retryAfter = RetryPolicy.parseRetryAfter(Self.header("Retry-After", in: response))
                    }
                    failure = .status(url: urlString, status: status, attempts: attempt, bodyPreview: Self.preview(data))
                }
            } catch let e as HTTPClientError {
                failure = e.with(attempts: attempt)
            } catch {
                failure = Self.classify(error, url: urlString, timeout: timeout, attempts: attempt)
            }
            if case .cancelled = failure { throw failure }
            guard attempt < retryPolicy.maxAttempts, failure.isRetryable(retryPolicy) else { throw failure }
            let pause: Double = lock.withLock {
                retryPolicy.delay(afterAttempt: attempt, retryAfter: retryAfter, generator: &generator)
            }
            do {
                try await sleeper(pause)
            } catch {
                throw HTTPClientError.cancelled(url: urlString, attempts: attempt)
            }
            waited += pause
        }
    }

    /// One attempt, with a hard deadline on the whole exchange, body included, so a server that
    /// trickles bytes cannot hold an attempt past `timeout`.
    private func perform(_ request: HTTPClientRequest) async throws -> (Data, HTTPClientResponse) {
        let http = self.http
        let deadline = NIODeadline.now() + .nanoseconds(Int64(min(timeout, 86_400) * 1e9))
        let urlString = request.url
        let seconds = timeout
        return try await withThrowingTaskGroup(of: (Data, HTTPClientResponse)?.self) { group in
            group.addTask {
                let response = try await http.execute(request, deadline: deadline)
                let body = try await response.body.collect(upTo: JSONHTTPClient.maximumBodyBytes)
                return (Data(body.readableBytesView), response)
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64((seconds + 0.05) * 1e9))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw HTTPClientError.timeout(url: urlString, seconds: seconds, attempts: 0)
            }
            return result
        }
    }

    static func classify(_ error: any Error, url: String, timeout: Double, attempts: Int) -> HTTPClientError {
        if error is CancellationError { return .cancelled(url: url, attempts: attempts) }
        if let e = error as? AsyncHTTPClient.HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout,
                 .getConnectionFromPoolTimeout:
                return .timeout(url: url, seconds: timeout, attempts: attempts)
            case .cancelled, .requestStreamCancelled: return .cancelled(url: url, attempts: attempts)
            case .invalidURL, .emptyHost, .emptyScheme: return .invalidRequest(url: url, message: "\(e)")
            case .remoteConnectionClosed:
                return .transport(url: url, message: "the server closed the connection before the answer was complete", attempts: attempts)
            default: return .transport(url: url, message: "\(e)", attempts: attempts)
            }
        }
        return .transport(url: url, message: "\(error)", attempts: attempts)
    }

    static func header(_ name: String, in response: HTTPClientResponse) -> String? {
        response.headers.first(name: name)
    }

    static func contentLength(_ response: HTTPClientResponse) -> Int? {
        guard let v = header("Content-Length", in: response) else { return nil }
        // A compressed body is decoded before we see it, so its length says nothing about ours.
        if let enc = header("Content-Encoding", in: response), enc.lowercased() != "identity" { return nil }
        return Int(v.trimmingCharacters(in: .whitespaces))
    }

    /// The first 300 characters of a body, control characters flattened, for error messages.
    public static func preview(_ data: Data, limit: Int = 300) -> String {
        let s = String(decoding: data.prefix(limit * 4), as: UTF8.self)
        var out = ""
        for ch in s {
            if out.count >= limit { out += "…"; break }
            out.append(ch.isNewline || ch.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control }) ? " " : ch)
        }
        return out
    }

    static func describe(decodingError error: any Error) -> String {
        if let d = error as? DecodingError {
            switch d {
            case .dataCorrupted(let c): return "malformed JSON: \(c.debugDescription)"
            case .keyNotFound(let k, let c): return "missing field '\(Self.path(c.codingPath + [k]))'"
            case .typeMismatch(let t, let c): return "field '\(Self.path(c.codingPath))' is not \(t)"
            case .valueNotFound(let t, let c): return "field '\(Self.path(c.codingPath))' is null, expected \(t)"
            @unknown default: return "\(d)"
            }
        }
        return "\(error)"
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
}
