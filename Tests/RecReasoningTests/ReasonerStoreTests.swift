import Foundation
import GRDB
import LoopbackHTTP
import RecData
import RecKit
import Testing
@testable import RecReasoning

@Suite struct OpenAIReasonerTests {
    @Test func jsonAnswerAndRequestShape() async throws {
        let s = try LoopbackServer(script: [chatAnswer(#"{"rationales": ["Prefers waterproof hiking boots", "favours budget gear", "x", "likes tents", "too many"]}"#)])
        defer { s.stop() }
        var c = testConfig(s)
        c.jsonMode = true
        c.seed = 7
        c.apiKeyEnv = "TEST_LLM_KEY"
        let r = try OpenAIChatReasoner(c, environment: ["TEST_LLM_KEY": "sk-secret-123"])
        let out = try await r.rationales(for: profile(["Alpenglow boot", "Cairn tent"]))
        #expect(out.texts == ["Prefers waterproof hiking boots", "favours budget gear", "likes tents"])
        #expect(out.usage == TokenUsage(promptTokens: 50, completionTokens: 10))
        #expect(out.rationales.allSatisfy { $0.reasonerID == "openai" && $0.model == "test-model" && $0.promptHash == r.promptHash })
        let req = try #require(s.requests.first)
        #expect(req.path == "/v1/chat/completions")
        #expect(req.header("authorization") == "Bearer sk-secret-123")
        let json = try #require(req.json)
        #expect(json["model"] as? String == "test-model")
        #expect(json["seed"] as? Int == 7)
        #expect((json["response_format"] as? [String: Any])?["type"] as? String == "json_object")
        #expect(json["logprobs"] == nil)
        let messages = try #require(json["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user"])
        #expect((messages[1]["content"] as? String)?.contains("<item n=\"2\" rating=\"5\">Cairn tent</item>") == true)
        // The key never appears in what a run records.
        #expect(!r.configuration.values.contains { $0.contains("sk-secret") })
        #expect(r.configuration["api_key_env"] == "TEST_LLM_KEY")
    }

    @Test func plainTextAnswer() async throws {
        let s = try LoopbackServer(script: [chatAnswer("Sure! Here they are:\n1. Enjoys quiet dramas.\n2. enjoys quiet dramas\n3) likes jazz\n")])
        defer { s.stop() }
        let r = try OpenAIChatReasoner(testConfig(s))
        #expect(try await r.rationales(for: profile(["a film"])).texts == ["Enjoys quiet dramas", "likes jazz"])
        #expect(s.requests.first?.json?["response_format"] == nil)
    }

    @Test func missingKeyVariableIsAClearError() throws {
        let s = try LoopbackServer(script: [])
        defer { s.stop() }
        var c = testConfig(s)
        c.apiKeyEnv = "NOPE_NOT_SET"
        #expect(throws: ReasoningError.self) { try OpenAIChatReasoner(c, environment: [:]) }
    }

    @Test func emptyChoicesAreRetried() async throws {
        let empty = LoopbackServer.Response.json(["choices": [Any](), "usage": ["prompt_tokens": 1, "completion_tokens": 0]])
        let s = try LoopbackServer(script: [empty, chatAnswer("- likes tents")])
        defer { s.stop() }
        let out = try await OpenAIChatReasoner(testConfig(s)).rationales(for: profile(["a tent"]))
        #expect(out.texts == ["likes tents"] && out.requests == 2)
    }

    @Test func closedFormOrdersByRenormalisedYesProbability() async throws {
        let pool = CandidatePool(texts: ["likes tents", "likes boots", "likes lamps", "likes poles"], source: "test")
        // P(yes) renormalised over yes/no: 0.9/(0.9+0.05) ≈ 0.95, 0.3/(0.3+0.6) ≈ 0.33, 0.6/0.9 ≈ 0.67; the last has no logprobs.
        let s = try LoopbackServer(handler: { req in
            let content = ((req.json?["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            if content.contains("likes tents") { return chatAnswer("Yes", logprobs: firstTokenLogprobs([("Yes", log(0.9)), ("No", log(0.05))])) }
            if content.contains("likes boots") { return chatAnswer("No", logprobs: firstTokenLogprobs([("No", log(0.6)), (" Yes", log(0.3))])) }
            if content.contains("likes lamps") { return chatAnswer("Yes", logprobs: firstTokenLogprobs([("Yes", log(0.6)), ("No", log(0.3))])) }
            return chatAnswer("yes.")
        })
        defer { s.stop() }
        var c = testConfig(s, mode: .closed)
        c.candidates = pool
        let r = try OpenAIChatReasoner(c)
        let out = try await r.rationales(for: profile(["a tent", "a lamp"]))
        #expect(out.texts == ["likes poles", "likes tents", "likes lamps"])
        #expect(s.requests.count == 4)
        let body = try #require(s.requests.first?.json)
        #expect(body["logprobs"] as? Bool == true && body["top_logprobs"] as? Int == 5)
        #expect(out.usage.promptTokens == 200)
    }

    @Test func candidatePoolExcludesOwnAndPrefilters() {
        let pool = CandidatePool(rationales: [1: ["mine only", "shared one"], 2: ["shared one", "likes tents", "likes jazz"]], source: "t")
        let c = pool.candidates(for: profile(["big tents for tents"], userID: 1), limit: 2)
        #expect(!c.contains("mine only"))
        #expect(c == ["likes tents", "shared one"])
    }
}

@Suite struct GenerationTests {
    /// Fails on one chosen user, as a crash or an exhausted server would.
    struct FlakyReasoner: Reasoner {
        var inner: AspectReasoner
        var failOn: Int64?
        var id: String { inner.id }
        var model: String { inner.model }
        var promptHash: String { inner.promptHash }
        var mode: ReasoningMode { inner.mode }
        var k: Int { inner.k }
        var configuration: [String: String] { inner.configuration }
        var profileOptions: ProfileOptions { inner.profileOptions }
        func rationales(for profile: UserProfile) async throws -> ReasonerOutput {
            if profile.userID == failOn { throw ReasoningError.userFailed(user: profile.externalID, attempts: 4, reason: "simulated") }
            return try await inner.rationales(for: profile)
        }
    }

    @Test func resumesAfterAnInterruptedRunWithoutDuplicates() async throws {
        let (store, _) = try makeWorld(users: 25)
        let rs = try RationaleStore(store: store)
        let b = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        let aspect = AspectReasoner(builder: b)
        let tenth = b.users[9]
        do {
            _ = try await RationaleGenerator(store: rs, reasoner: FlakyReasoner(inner: aspect, failOn: tenth.id), options: quietOptions()).run()
            Issue.record("expected failure")
        } catch let e as ReasoningError {
            #expect(e.description.contains("user \(tenth.externalID)") && e.description.contains("4 attempts"))
        }
        let run = try rs.latestRun(dataset: "synth", split: "llo", reasoner: "aspect")
        #expect(try rs.completedUsers(run: run.id).count == 9)
        #expect(!(try rs.completedUsers(run: run.id)).contains(tenth.id))
        let summary = try await RationaleGenerator(store: rs, reasoner: aspect, options: quietOptions()).run()
        #expect(summary.run.id == run.id)
        #expect(summary.usersSkipped == 9 && summary.usersGenerated == 16)
        #expect(try rs.completedUsers(run: run.id).count == 25)
        #expect(try rowCount(store, "rationale_run") == 1)
        let dupes = try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT user_id, text FROM rationale GROUP BY run_id, user_id, text HAVING count(*) > 1)")
        }
        #expect(dupes == 0)
        // A third run does nothing.
        let again = try await RationaleGenerator(store: rs, reasoner: aspect, options: quietOptions()).run()
        #expect(again.usersGenerated == 0 && again.usersSkipped == 25)
        // Same rationales as a fresh, uninterrupted run.
        let byUser = try rs.rationales(dataset: "synth", split: "llo", reasoner: "aspect")
        for p in b.profiles() { #expect(byUser[p.userID] == (try await aspect.rationales(for: p)).texts) }
    }

    /// Real HTTP failures mid-run: users before the failure are committed, the failing user has
    /// nothing stored, and the error names the user and the attempts.
    @Test func httpFailureStoresNothingPartial() async throws {
        let (store, _) = try makeWorld(users: 6)
        let rs = try RationaleStore(store: store)
        // Keyed by request body, not by arrival: a retry of an answered user (a timeout on a busy
        // host) gets the same answer instead of shifting the failure to an earlier user.
        let bodies = DistinctBodies()
        let s = try LoopbackServer(handler: { request in
            bodies.rank(of: request.body) < 3 ? chatAnswer("- likes tents\n- likes boots") : .text("overloaded", status: 503)
        })
        defer { s.stop() }
        let r = try OpenAIChatReasoner(testConfig(s, attempts: 2))
        let b = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        do {
            _ = try await RationaleGenerator(store: rs, reasoner: r, options: quietOptions()).run(builder: b)
            Issue.record("expected failure")
        } catch let e as ReasoningError {
            guard case let .userFailed(user, attempts, reason) = e else { Issue.record("\(e)"); return }
            #expect(user == b.users[3].externalID && attempts == 2 && reason.contains("HTTP 503"))
        }
        #expect(try rowCount(store, "rationale_user") == 3)
        #expect(try rowCount(store, "rationale") == 6)
        // The server recovers; the rerun finishes the remaining users only.
        let s2 = try LoopbackServer(script: [], fallback: chatAnswer("- likes lamps"))
        defer { s2.stop() }
        var c2 = testConfig(s2, attempts: 2)
        c2.baseURL = s2.baseURL.appendingPathComponent("v1")
        let summary = try await RationaleGenerator(store: rs, reasoner: try OpenAIChatReasoner(c2), options: quietOptions()).run(builder: b)
        #expect(summary.usersGenerated == 3 && summary.usersSkipped == 3)
        #expect(summary.usage.promptTokens == 150)
        #expect(try rowCount(store, "rationale_user") == 6)
    }

    @Test func concurrentGenerationCommitsEveryUserOnce() async throws {
        let (store, _) = try makeWorld(users: 12)
        let rs = try RationaleStore(store: store)
        let s = try LoopbackServer(script: [], fallback: chatAnswer("- likes tents\n- likes boots"))
        defer { s.stop() }
        var o = quietOptions()
        o.concurrency = 4
        let summary = try await RationaleGenerator(store: rs, reasoner: try OpenAIChatReasoner(testConfig(s)), options: o).run()
        #expect(summary.usersGenerated == 12 && s.requests.count == 12)
        #expect(try rowCount(store, "rationale") == 24)
    }

    @Test func runsAreSelectableAndSplitReplacementDropsThem() async throws {
        let (store, _) = try makeWorld(users: 8)
        let rs = try RationaleStore(store: store)
        let b = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        let s1 = try await RationaleGenerator(store: rs, reasoner: AspectReasoner(builder: b, options: .init(k: 2)), options: quietOptions()).run()
        let s2 = try await RationaleGenerator(store: rs, reasoner: AspectReasoner(builder: b, options: .init(k: 3)), options: quietOptions()).run()
        #expect(s1.run.id != s2.run.id)
        #expect(try rs.latestRun(dataset: "synth", split: "llo", reasoner: "aspect").id == s2.run.id)
        #expect(try rs.rationales(runID: s1.run.id).values.allSatisfy { $0.count <= 2 })
        #expect(throws: ReasoningError.self) { try rs.latestRun(dataset: "synth", split: "llo", reasoner: "openai") }
        try store.createSplit(dataset: "synth", splitName: "llo", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 2, replace: true)
        #expect(try rs.runs(dataset: "synth").isEmpty)
        #expect(try rowCount(store, "rationale") == 0)
    }

    @Test func exportAndImportRoundTrip() async throws {
        let (store, dir) = try makeWorld(users: 6)
        let rs = try RationaleStore(store: store)
        let b = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        let summary = try await RationaleGenerator(store: rs, reasoner: AspectReasoner(builder: b), options: quietOptions()).run()
        let out = dir.appendingPathComponent("sft.jsonl")
        #expect(FileManager.default.createFile(atPath: out.path, contents: nil))
        let h = try FileHandle(forWritingTo: out)
        let n = try FineTuningExchange.exportSFT(store: rs, runID: summary.run.id, to: h)
        try h.close()
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == n && n > 0)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        let messages = first["messages"] as! [[String: String]]
        #expect(messages.map { $0["role"]! } == ["system", "user", "assistant"])
        #expect(messages[1]["content"]!.contains("<item n=\"1\""))
        #expect(messages[2]["content"]!.hasPrefix("- "))

        // Import: the assistant answers back as {"user_id", "rationales"} lines.
        let records = try rs.records(runID: summary.run.id)
        let importFile = dir.appendingPathComponent("big-model.jsonl")
        let body = records.map { r in
            String(decoding: try! JSONSerialization.data(withJSONObject: ["user_id": r.externalID, "rationales": r.texts.map { $0.uppercased() }]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
        try body.write(to: importFile, atomically: true, encoding: .utf8)
        let imp = try FineTuningExchange.importJSONL(store: rs, path: importFile.path, dataset: "synth", split: "llo", name: "big")
        #expect(imp.users == records.count && imp.run.reasoner == "imported:big")
        let again = try FineTuningExchange.importJSONL(store: rs, path: importFile.path, dataset: "synth", split: "llo", name: "big")
        #expect(again.users == 0 && again.skipped == records.count)
        let back = try rs.rationales(dataset: "synth", split: "llo", reasoner: "imported:big")
        #expect(back[records[0].userID] == records[0].texts.map { $0.uppercased() })
    }

    @Test func importErrorsNameFileLineAndField() throws {
        let (store, dir) = try makeWorld(users: 3)
        let rs = try RationaleStore(store: store)
        func attempt(_ content: String) -> String {
            let f = dir.appendingPathComponent("bad-\(UUID().uuidString).jsonl")
            try! content.write(to: f, atomically: true, encoding: .utf8)
            do {
                _ = try FineTuningExchange.importJSONL(store: rs, path: f.path, dataset: "synth", split: "llo", name: "bad")
                return "no error"
            } catch {
                return "\(error)".replacingOccurrences(of: f.path, with: "FILE")
            }
        }
        #expect(attempt("{\"user_id\": \"u1\", \"rationales\": [\"a b\"]}\nnot json\n") == "FILE:2: not valid JSON")
        #expect(attempt("{\"rationales\": [\"a\"]}") == "FILE:1: field 'user_id': missing")
        #expect(attempt("{\"user_id\": \"u99\", \"rationales\": []}").hasPrefix("FILE:1: field 'user_id': no user 'u99'"))
        #expect(attempt("{\"user_id\": \"u1\", \"rationales\": \"x\"}") == "FILE:1: field 'rationales': must be an array of strings")
        #expect(attempt("{\"user_id\": \"u1\", \"rationales\": [\"ok\", 3]}") == "FILE:1: field 'rationales[1]': must be a string")
        #expect(attempt("{\"user_id\": \"u1\", \"rationales\": [\"a\"]}\n{\"user_id\": \"u1\", \"rationales\": [\"b\"]}")
                == "FILE:2: field 'user_id': user 'u1' already appeared on line 1")
        // All or nothing: none of the failed imports left a run.
        #expect(try rs.runs(dataset: "synth").isEmpty)
    }
}

/// The order in which distinct request bodies first arrived.
final class DistinctBodies: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [Data: Int] = [:]
    func rank(of body: Data) -> Int {
        lock.withLock {
            if let r = seen[body] { return r }
            seen[body] = seen.count
            return seen.count - 1
        }
    }
}
