import Foundation
import LoopbackHTTP
import RecData
import RecKit
import Testing
@testable import RecReasoning

/// The `openai` reasoner against a real llama.cpp `llama-server` serving SmolLM2-135M-Instruct,
/// started and stopped by Notebooks-as-Scripts/llama-server.sh (`LlamaServer`, in the shared test
/// support). Where the server is not built it is reported as skipped, with the command that builds it.
@Suite(.serialized, .enabled(if: LlamaServer.available, Comment(rawValue: LlamaServer.skipReason)))
struct LlamaServerEndToEndTests {
    /// Starts a server in its own run folder, gives its API root to `body`, always stops it.
    func withServer(_ body: (URL) async throws -> Void) async throws {
        let server = try LlamaServer.start()
        defer { server.stop() }
        try await body(server.baseURL)
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
