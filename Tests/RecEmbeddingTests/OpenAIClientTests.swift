import Foundation
import Testing
import LoopbackHTTP
@testable import RecEmbedding

/// The OpenAI-compatible client against a real HTTP server on 127.0.0.1 started by the test.
@Suite struct OpenAIClientTests {
    static func embeddingsBody(_ n: Int, dim: Int = 3, offset: Float = 0, reversed: Bool = false) -> [String: Any] {
        var data: [[String: Any]] = (0..<n).map { i in
            ["object": "embedding", "index": i, "embedding": (0..<dim).map { Double(Float(i) + offset + Float($0) * 0.5) }]
        }
        if reversed { data.reverse() }  // the client must order by "index", not by position
        return ["object": "list", "data": data, "model": "test-embed"]
    }

    static func client(_ server: LoopbackServer, maxBatch: Int = 256, retries: Int = 3, keyVariable: String? = nil,
                       timeout: Double = 30) -> OpenAIEmbeddingsClient {
        OpenAIEmbeddingsClient(configuration: .init(
            baseURL: server.baseURL.appendingPathComponent("v1"), model: "test-embed", dimension: 3,
            apiKeyVariable: keyVariable, maxBatchSize: maxBatch, maxRetries: retries,
            initialBackoff: 0.01, maxBackoff: 5, timeout: timeout))
    }

    @Test func normalResponseInBatches() throws {
        let server = try LoopbackServer { req in
            let n = (req.json?["input"] as? [String])?.count ?? 0
            return .json(Self.embeddingsBody(n, offset: Float(req.index * 10), reversed: true))
        }
        defer { server.stop() }
        let c = Self.client(server, maxBatch: 2)
        let m = try c.encode(["a", "b", "c"], batchSize: 8)
        #expect(m.rows == 3 && m.cols == 3)
        #expect(m.row(0) == [0, 0.5, 1] && m.row(1) == [1, 1.5, 2] && m.row(2) == [10, 10.5, 11])
        let reqs = server.requests
        #expect(reqs.count == 2)
        #expect(reqs[0].method == "POST" && reqs[0].path == "/v1/embeddings")
        #expect(reqs[0].json?["model"] as? String == "test-embed")
        #expect((reqs[0].json?["input"] as? [String]) == ["a", "b"])
        #expect(reqs[0].header("Authorization") == nil)
        #expect(c.modelID.contains("test-embed"))
    }

    @Test func retriesAfterServerError() throws {
        let server = try LoopbackServer(script: [
            .text(#"{"error":"boom"}"#, status: 500),
            .json(Self.embeddingsBody(2)),
        ])
        defer { server.stop() }
        let m = try Self.client(server).encode(["x", "y"], batchSize: 32)
        #expect(m.rows == 2)
        #expect(server.requests.count == 2)
    }

    @Test func honoursRetryAfterOn429() throws {
        let server = try LoopbackServer(script: [
            .text(#"{"error":"slow down"}"#, status: 429, headers: ["Retry-After": "1"]),
            .json(Self.embeddingsBody(1)),
        ])
        defer { server.stop() }
        let m = try Self.client(server).encode(["x"], batchSize: 32)
        #expect(m.rows == 1)
        let reqs = server.requests
        #expect(reqs.count == 2)
        #expect(reqs[1].receivedAt - reqs[0].receivedAt >= 0.9, "waited \(reqs[1].receivedAt - reqs[0].receivedAt) s")
    }

    @Test func givesUpAfterMaxRetries() throws {
        let server = try LoopbackServer { _ in .text(#"{"error":"down"}"#, status: 503) }
        defer { server.stop() }
        do {
            _ = try Self.client(server, retries: 2).encode(["x"], batchSize: 32)
            Issue.record("expected an error")
        } catch let e as EmbeddingsClientError {
            guard case .retriesExhausted(let n, _) = e else { Issue.record("wrong error \(e)"); return }
            #expect(n == 3)
        }
        #expect(server.requests.count == 3)
    }

    @Test func malformedJSONIsAClearError() throws {
        let server = try LoopbackServer { _ in .text("{\"data\": [ {\"embedding\": [1, 2") }
        defer { server.stop() }
        do {
            _ = try Self.client(server).encode(["x"], batchSize: 32)
            Issue.record("expected an error")
        } catch let e as EmbeddingsClientError {
            guard case .malformedResponse = e else { Issue.record("wrong error \(e)"); return }
            #expect(e.description.contains("malformed"))
        }
        #expect(server.requests.count == 1)  // not retried
    }

    @Test func wrongDimensionAndClientErrorsAreNotRetried() throws {
        let server = try LoopbackServer(script: [
            .json(Self.embeddingsBody(1, dim: 4)),
            .text(#"{"error":"bad request"}"#, status: 400),
        ])
        defer { server.stop() }
        let c = Self.client(server)
        #expect(throws: EmbeddingsClientError.self) { try c.encode(["x"], batchSize: 32) }
        do {
            _ = try c.encode(["x"], batchSize: 32)
            Issue.record("expected an error")
        } catch let e as EmbeddingsClientError {
            guard case .http(400, _) = e else { Issue.record("wrong error \(e)"); return }
        }
        #expect(server.requests.count == 2)
    }

    @Test func timeoutIsRetried() throws {
        let server = try LoopbackServer(script: [
            LoopbackServer.Response(status: 200, body: Data("{}".utf8), delay: 3),
            .json(Self.embeddingsBody(1)),
        ])
        defer { server.stop() }
        let m = try Self.client(server, timeout: 1).encode(["x"], batchSize: 32)
        #expect(m.rows == 1)
        #expect(server.requests.count == 2)
    }

    @Test func sendsKeyFromEnvironmentAndRequiresIt() throws {
        let server = try LoopbackServer { req in .json(Self.embeddingsBody(1)) }
        defer { server.stop() }
        let missing = Self.client(server, keyVariable: "REC_TEST_SURELY_UNSET_KEY_VARIABLE")
        do {
            _ = try missing.encode(["x"], batchSize: 1)
            Issue.record("expected an error")
        } catch let e as EmbeddingsClientError {
            #expect(e.description.contains("REC_TEST_SURELY_UNSET_KEY_VARIABLE"))
        }
        // PATH is always set: use it as a stand-in key to check the header is sent.
        let c = Self.client(server, keyVariable: "PATH")
        _ = try c.encode(["x"], batchSize: 1)
        #expect(server.requests.last?.header("Authorization") == "Bearer \(ProcessInfo.processInfo.environment["PATH"]!)")
    }

    @Test func exhaustedRetriesNameURLStatusAndBody() throws {
        let server = try LoopbackServer { _ in .text(#"{"error":"overloaded"}"#, status: 502) }
        defer { server.stop() }
        let e = #expect(throws: EmbeddingsClientError.self) { try Self.client(server, retries: 1).encode(["x"], batchSize: 32) }
        let message = e?.description ?? ""
        for part in ["/v1/embeddings", "502", "overloaded", "2 attempts"] { #expect(message.contains(part), "\(message)") }
    }

    /// `encode` is synchronous; called from many async tasks at once (more than the cooperative
    /// pool has threads) it must neither deadlock nor mix up results.
    @Test func encodeFromManyAsyncTasks() async throws {
        let server = try LoopbackServer { req in
            let n = (req.json?["input"] as? [String])?.count ?? 0
            return .json(Self.embeddingsBody(n))
        }
        defer { server.stop() }
        let c = Self.client(server, maxBatch: 2)
        let n = 4 * max(2, ProcessInfo.processInfo.activeProcessorCount)
        let rows = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<n { group.addTask { try c.encode(Array(repeating: "t", count: i % 5 + 1), batchSize: 8).rows } }
            var all: [Int] = []
            for try await r in group { all.append(r) }
            return all.sorted()
        }
        #expect(rows == (0..<n).map { $0 % 5 + 1 }.sorted())
    }

    @Test func retryAfterParsing() {
        #expect(OpenAIEmbeddingsClient.retryAfter("3") == 3)
        #expect(OpenAIEmbeddingsClient.retryAfter(nil) == nil)
        #expect(OpenAIEmbeddingsClient.retryAfter("soon") == nil)
        #expect(OpenAIEmbeddingsClient.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == 0)  // in the past
    }
}
