import Foundation
import RecData
import RecKit
import Testing
@testable import RecReasoning

/// The `openai` reasoner against a real llama.cpp `llama-server` serving SmolLM2-135M-Instruct,
/// started and stopped by Notebooks-as-Scripts/llama-server.sh. It runs only where that script
/// has built the server and fetched the model into the cache (about 20 minutes on 2 idle cores):
///   bash Notebooks-as-Scripts/llama-server.sh build && bash Notebooks-as-Scripts/llama-server.sh fetch-model
/// Elsewhere it is reported as skipped, with that command.
enum LlamaServer {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Notebooks-as-Scripts/llama-server.sh").path
    static let buildCommand = "bash Notebooks-as-Scripts/llama-server.sh build && bash Notebooks-as-Scripts/llama-server.sh fetch-model"

    /// Runs the script; stdout trimmed, or nil on a non-zero exit.
    @discardableResult
    static func run(_ args: [String], environment: [String: String] = [:]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script] + args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Built and fetched: `path` and `model-path` succeed (they only look at the cache).
    static let available: Bool = FileManager.default.fileExists(atPath: script) && run(["path"]) != nil && run(["model-path"]) != nil
}

@Suite(.serialized, .enabled(if: LlamaServer.available,
                             "llama-server or the SmolLM2 model is not in the cache; build it with: \(LlamaServer.buildCommand)"))
struct LlamaServerEndToEndTests {
    /// Starts a server in its own run folder, gives its base URL to `body`, always stops it.
    func withServer(_ body: (URL) async throws -> Void) async throws {
        let runDir = FileManager.default.temporaryDirectory.appendingPathComponent("llama-run-\(UUID().uuidString)")
        let env = ["LLAMA_RUN_DIR": runDir.path, "LLAMA_START_TIMEOUT": "180"]
        defer {
            LlamaServer.run(["stop"], environment: env)
            try? FileManager.default.removeItem(at: runDir)
        }
        let started = try #require(LlamaServer.run(["start"], environment: env), "llama-server.sh start failed (log: \(runDir.path)/server.log)")
        let url = try #require(URL(string: started))
        #expect(url.host == "127.0.0.1")
        try await body(url.appendingPathComponent("v1"))
    }

    func config(_ base: URL, mode: ReasoningMode) -> OpenAIChatReasoner.Configuration {
        var c = OpenAIChatReasoner.Configuration(baseURL: base, model: "smollm2-135m-instruct")
        c.mode = mode
        c.k = 3
        c.temperature = 0
        c.seed = 1
        c.maxTokens = 96
        c.timeout = 180
        c.retry = RetryPolicy(maxAttempts: 2, initialBackoff: 0.5, maxBackoff: 1)
        c.maxConnections = 1
        c.profileOptions = ProfileOptions(maxLiked: 8)
        return c
    }

    @Test func openAndClosedFormAgainstLlamaServer() async throws {
        let (store, dir) = try makeWorld(users: 6, items: 40)
        defer { try? FileManager.default.removeItem(at: dir) }
        let builder = try ProfileBuilder(store: store, dataset: "synth", split: "llo", options: ProfileOptions(maxLiked: 8))
        let profiles = Array(builder.profiles().filter { !$0.liked.isEmpty }.prefix(3))
        try #require(profiles.count == 3)
        try await withServer { base in
            // Open-ended: every answer decodes, reports usage, and parses (SmolLM2 often writes
            // non-rationales; the quality measures, not this test, judge them).
            let open = try OpenAIChatReasoner(config(base, mode: .open))
            var inputs: [RationaleQualityInput] = []
            for p in profiles {
                let out = try await open.rationales(for: p)
                #expect(out.requests == 1)
                #expect(out.usage.promptTokens > 0 && out.usage.completionTokens > 0)
                #expect(out.texts.count <= 3)
                inputs.append(RationaleQualityInput(userID: p.userID, texts: out.texts, titles: p.liked.map(\.fields.title)))
            }
            let q = try RationaleQuality.measure(inputs).quality
            print("llama-server open-ended, 3 users:\n\(q.table)")

            // Closed form: llama-server's logprobs carry top_logprobs, and they score candidates.
            var c = config(base, mode: .closed)
            let statements = ["prefers lightweight gear", "enjoys horror films", "favours budget products"]
            c.candidates = CandidatePool(texts: statements, source: "test")
            c.maxCandidates = 3
            let closed = try OpenAIChatReasoner(c)
            var scored = 0
            for statement in statements {
                let request = ChatCompletions.Request(
                    model: c.model, messages: closed.closedMessages(for: profiles[0], statement: statement), temperature: 0,
                    max_tokens: c.closedMaxTokens, seed: c.seed, response_format: nil, logprobs: true, top_logprobs: 5)
                let ex = try await closed.client.post("chat/completions", body: request, decode: ChatCompletions.decode)
                let tokens = try #require(ex.value.choices[0].logprobs?.content, "no logprobs.content in llama-server's answer")
                #expect(!tokens.isEmpty)
                #expect(tokens.allSatisfy { !($0.top_logprobs ?? []).isEmpty }, "a token without top_logprobs")
                if let p = ChatCompletions.yesProbability(ex.value.choices[0]) {
                    #expect(p >= 0 && p <= 1)
                    scored += 1
                }
            }
            #expect(scored > 0, "no candidate had yes or no among the first answer token's top_logprobs")
            for p in profiles {
                let out = try await closed.rationales(for: p)
                #expect(out.requests == 3)
                #expect(out.usage.completionTokens > 0)
                #expect(Set(out.texts).isSubset(of: Set(statements)))
            }
        }
    }
}
