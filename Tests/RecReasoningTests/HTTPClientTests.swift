import Foundation
import LoopbackHTTP
import RecKit
import Testing

/// The shared JSON-over-HTTP client against a real HTTP/1.1 server on loopback.
@Suite struct HTTPClientTests {
    struct Echo: Codable, Sendable { var ok: Bool }
    struct Body: Codable, Sendable { var q: String }

    // A generous timeout unless a test is about timeouts: on a loaded 2-core machine (the whole
    // suite runs in parallel) a loopback answer has taken over 2 s, and a spurious timeout adds
    // an attempt that the retry tests then count.
    func client(_ s: LoopbackServer, attempts: Int = 3, timeout: Double = 15, headers: [String: String] = [:]) -> JSONHTTPClient {
        JSONHTTPClient(baseURL: s.baseURL.appendingPathComponent("v1"), headers: headers, timeout: timeout,
                       retryPolicy: RetryPolicy(maxAttempts: attempts, initialBackoff: 0.01, maxBackoff: 0.05))
    }

    @Test func postsJSONWithHeaders() async throws {
        let s = try LoopbackServer(script: [.json(["ok": true])])
        defer { s.stop() }
        let ex = try await client(s, headers: ["Authorization": "Bearer sk-test"]).post("things", body: Body(q: "hi"), as: Echo.self)
        #expect(ex.value.ok && ex.attempts == 1 && ex.status == 200)
        let r = try #require(s.requests.first)
        #expect(r.method == "POST" && r.path == "/v1/things")
        #expect(r.header("authorization") == "Bearer sk-test")
        #expect(r.header("content-type") == "application/json")
        #expect(r.json?["q"] as? String == "hi")
    }

    @Test func largeBodiesSurviveExpectContinue() async throws {
        let s = try LoopbackServer(script: [.json(["ok": true])])
        defer { s.stop() }
        let big = String(repeating: "x", count: 200_000)
        _ = try await client(s).post("big", body: Body(q: big), as: Echo.self)
        let r = try #require(s.requests.first)
        #expect(r.body.count > 200_000)
        #expect(String(decoding: r.body.suffix(3), as: UTF8.self) == "x\"}")
    }

    @Test func honoursRetryAfterOn429() async throws {
        let s = try LoopbackServer(script: [.text(#"{"error":"slow down"}"#, status: 429, headers: ["Retry-After": "1"]), .json(["ok": true])])
        defer { s.stop() }
        let ex = try await client(s).post("x", body: Body(q: ""), as: Echo.self)
        #expect(ex.attempts == 2)
        #expect(ex.waited == 1)
        let rq = s.requests
        #expect(rq.count == 2)
        #expect(rq[1].receivedAt - rq[0].receivedAt >= 0.95)
    }

    @Test func retries500ThenSucceeds() async throws {
        let s = try LoopbackServer(script: [.text("oops", status: 500), .text("oops", status: 502), .json(["ok": true])])
        defer { s.stop() }
        let ex = try await client(s).post("x", body: Body(q: ""), as: Echo.self)
        #expect(ex.attempts == 3 && s.requests.count == 3)
    }

    @Test func persistent500NamesURLStatusAttemptsAndBody() async throws {
        let s = try LoopbackServer(script: [], fallback: .text("model crashed: CUDA out of memory", status: 500))
        defer { s.stop() }
        do {
            _ = try await client(s, attempts: 3).post("x", body: Body(q: ""), as: Echo.self)
            Issue.record("expected failure")
        } catch let e as HTTPClientError {
            #expect(e.attempts == 3 && s.requests.count == 3)
            let d = e.description
            #expect(d.contains("HTTP 500") && d.contains("/v1/x") && d.contains("3 attempts") && d.contains("CUDA out of memory"))
        }
    }

    @Test func clientErrorsAreNotRetried() async throws {
        let s = try LoopbackServer(script: [], fallback: .text(#"{"error":"bad model"}"#, status: 400))
        defer { s.stop() }
        await #expect(throws: HTTPClientError.self) { _ = try await client(s).post("x", body: Body(q: ""), as: Echo.self) }
        #expect(s.requests.count == 1)
    }

    @Test func hangingServerTimesOutAndRetries() async throws {
        let s = try LoopbackServer(script: [], fallback: LoopbackServer.Response(body: Data(#"{"ok":true}"#.utf8), delay: 150))
        defer { s.stop() }
        let t0 = Date()
        do {
            _ = try await client(s, attempts: 2, timeout: 0.5).post("x", body: Body(q: ""), as: Echo.self)
            Issue.record("expected timeout")
        } catch let e as HTTPClientError {
            guard case .timeout = e else { Issue.record("expected a timeout, got \(e)"); return }
            #expect(e.attempts == 2)
            #expect(e.description.contains("timeout") && e.description.contains("2 attempts"))
        }
        let elapsed = Date().timeIntervalSince(t0)
        // Two 0.5 s timeouts at least. No upper bound: the `.timeout` error above already shows
        // the 150 s hang was not waited out (it would have answered), and a clock bound failed on
        // busy hosts (19.5 s beside a release build, 71 s beside two builds and a study).
        #expect(elapsed >= 0.9, "elapsed \(elapsed)")
        #expect(s.requests.count == 2)
    }

    @Test func truncatedBodyIsRetried() async throws {
        var cut = LoopbackServer.Response.json(["ok": true, "padding": String(repeating: "p", count: 500)])
        cut.truncateBodyTo = 20
        let s = try LoopbackServer(script: [cut, .json(["ok": true])])
        defer { s.stop() }
        let ex = try await client(s).post("x", body: Body(q: ""), as: Echo.self)
        #expect(ex.attempts == 2 && s.requests.count == 2)
    }

    @Test func persistentTruncationIsATransportError() async throws {
        var cut = LoopbackServer.Response.json(["ok": true, "padding": String(repeating: "p", count: 500)])
        cut.truncateBodyTo = 20
        let s = try LoopbackServer(script: [], fallback: cut)
        defer { s.stop() }
        do {
            _ = try await client(s, attempts: 2).post("x", body: Body(q: ""), as: Echo.self)
            Issue.record("expected failure")
        } catch let e as HTTPClientError {
            #expect(e.attempts == 2)
            if case .transport = e {} else { Issue.record("expected transport error, got \(e)") }
        }
    }

    @Test func malformedJSONIsRetriedThenReported() async throws {
        let s = try LoopbackServer(script: [], fallback: .text(#"{"ok": tru"#))
        defer { s.stop() }
        do {
            _ = try await client(s, attempts: 2).post("x", body: Body(q: ""), as: Echo.self)
            Issue.record("expected failure")
        } catch let e as HTTPClientError {
            guard case .invalidBody = e else { Issue.record("expected invalidBody, got \(e)"); return }
            #expect(e.attempts == 2 && e.description.contains("malformed JSON") && e.description.contains(#"{"ok": tru"#))
        }
        var noRetry = RetryPolicy(maxAttempts: 3, initialBackoff: 0.01)
        noRetry.retryInvalidBody = false
        let s2 = try LoopbackServer(script: [], fallback: .text("not json"))
        defer { s2.stop() }
        // The generous timeout of `client(_:)`: a spurious timeout on a loaded machine would be
        // retried (timeouts always are) and count a second request.
        let c = JSONHTTPClient(baseURL: s2.baseURL, timeout: 15, retryPolicy: noRetry)
        await #expect(throws: HTTPClientError.self) { _ = try await c.post("x", body: Body(q: ""), as: Echo.self) }
        #expect(s2.requests.count == 1)
    }

    @Test func connectionRefusedIsATransportError() async throws {
        let s = try LoopbackServer(script: [])
        let url = s.baseURL
        s.stop()
        let c = JSONHTTPClient(baseURL: url, timeout: 1, retryPolicy: RetryPolicy(maxAttempts: 2, initialBackoff: 0.01))
        do {
            _ = try await c.post("x", body: Body(q: ""), as: Echo.self)
            Issue.record("expected failure")
        } catch let e as HTTPClientError {
            #expect(e.attempts == 2)
            #expect(e.url.hasPrefix(url.absoluteString))
        }
    }

    @Test func backoffIsExponentialJitteredAndSeeded() {
        let p = RetryPolicy(maxAttempts: 5, initialBackoff: 1, multiplier: 2, maxBackoff: 5, jitter: 0.2)
        var g1 = SeededGenerator(seed: 9), g2 = SeededGenerator(seed: 9)
        let d1 = (1...4).map { p.delay(afterAttempt: $0, retryAfter: nil, generator: &g1) }
        let d2 = (1...4).map { p.delay(afterAttempt: $0, retryAfter: nil, generator: &g2) }
        #expect(d1 == d2)
        for (d, base) in zip(d1, [1.0, 2, 4, 5]) { #expect(d >= base * 0.8 && d <= base * 1.2) }
        #expect(p.delay(afterAttempt: 1, retryAfter: 7, generator: &g1) == 7)
        #expect(RetryPolicy.parseRetryAfter("3") == 3)
        #expect(RetryPolicy.parseRetryAfter("soon") == nil)
        let later = RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT",
                                                now: Date(timeIntervalSince1970: 1_445_412_480))
        #expect(later == 10)
    }

    @Test func boundedConcurrencyKeepsOrderAndLimit() async throws {
        final class Gauge: @unchecked Sendable {
            let lock = NSLock(); var now = 0; var peak = 0
            func enter() { lock.withLock { now += 1; peak = max(peak, now) } }
            func leave() { lock.withLock { now -= 1 } }
        }
        let gauge = Gauge()
        let out = try await BoundedConcurrency.map(Array(0..<20), limit: 3) { i -> Int in
            gauge.enter()
            try await Task.sleep(nanoseconds: 2_000_000)
            gauge.leave()
            return i * i
        }
        #expect(out == (0..<20).map { $0 * $0 })
        #expect(gauge.peak <= 3 && gauge.peak >= 2)
    }
}
