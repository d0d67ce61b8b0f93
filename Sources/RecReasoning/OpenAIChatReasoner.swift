import Foundation
import RecKit

/// A reasoner backed by any OpenAI-compatible `/v1/chat/completions` endpoint: llama.cpp's
/// `llama-server`, Ollama, vLLM or OpenAI itself, unchanged.
///
/// Open-ended mode sends one request per user and parses the answer with `RationaleParser`
/// (an unparseable answer yields no rationales, as in ELLM). Closed-form mode sends one yes/no
/// request per candidate, asking for `logprobs` with `top_logprobs: 5`; a candidate is kept when
/// P(yes), renormalised over yes/no, exceeds 0.5 (ELLM's rule), and kept candidates are ordered by
/// it. Without log-probabilities the answer word decides and order follows the pool.
public struct OpenAIChatReasoner: Reasoner {
    public struct Configuration: Sendable {
        /// e.g. `http://127.0.0.1:8080/v1`; `chat/completions` is appended.
        public var baseURL: URL
        public var model: String
        /// The *name* of the environment variable holding the API key (the key itself is never
        /// stored in configuration, logged or printed).
        public var apiKeyEnv: String?
        public var mode: ReasoningMode = .open
        public var k: Int = 5
        public var temperature: Double? = 0.2
        public var maxTokens: Int? = 256
        /// Tokens allowed for a yes/no answer.
        public var closedMaxTokens: Int = 4
        public var seed: Int?
        /// Send `response_format: {"type": "json_object"}` and ask for `{"rationales": [...]}`.
        public var jsonMode: Bool = false
        /// Ask for log-probabilities in closed-form mode.
        public var logprobs: Bool = true
        /// Per-request timeout in seconds.
        public var timeout: Double = 120
        public var retry: RetryPolicy = RetryPolicy()
        /// Seeds the backoff jitter.
        public var jitterSeed: UInt64 = 1
        /// Concurrent connections the HTTP client may open (set to the generation concurrency).
        public var maxConnections: Int = 4
        public var openTemplate: PromptTemplate = .openEnded
        public var closedTemplate: PromptTemplate = .closedForm
        public var renderer: ItemBlockRenderer = ItemBlockRenderer()
        public var profileOptions: ProfileOptions = ProfileOptions()
        public var lowercase: Bool = false
        public var maxRationaleLength: Int = 160
        /// Closed-form candidates (required in closed mode).
        public var candidates: CandidatePool?
        /// Candidates asked about per user.
        public var maxCandidates: Int = 20

        public init(baseURL: URL, model: String) {
            self.baseURL = baseURL
            self.model = model
        }
    }

    public let configurationValues: Configuration
    let client: JSONHTTPClient
    public let id = "openai"
    public var model: String { configurationValues.model }
    public var mode: ReasoningMode { configurationValues.mode }
    public var k: Int { configurationValues.k }
    public var profileOptions: ProfileOptions { configurationValues.profileOptions }

    /// - Parameter environment: where the API key variable is looked up (injectable for tests).
    public init(_ configuration: Configuration, environment: [String: String] = ProcessInfo.processInfo.environment,
                sleep: (@Sendable (Double) async throws -> Void)? = nil) throws {
        var headers: [String: String] = [:]
        if let name = configuration.apiKeyEnv, !name.isEmpty {
            guard let key = environment[name], !key.isEmpty else {
                throw ReasoningError.invalidConfiguration("environment variable \(name) (named by --api-key-env) is not set or empty")
            }
            headers["Authorization"] = "Bearer \(key)"
        }
        if configuration.mode == .closed && (configuration.candidates?.isEmpty ?? true) {
            throw ReasoningError.invalidConfiguration("closed-form mode needs a non-empty candidate pool (--candidates FILE or --candidate-pool)")
        }
        guard configuration.k >= 1 else { throw ReasoningError.invalidConfiguration("k must be at least 1") }
        self.configurationValues = configuration
        self.client = JSONHTTPClient(baseURL: configuration.baseURL, headers: headers, timeout: configuration.timeout,
                                     retryPolicy: configuration.retry, generator: SeededGenerator(seed: configuration.jitterSeed),
                                     maxConnections: configuration.maxConnections, sleep: sleep)
    }

    /// Everything that shapes what the model reads: templates, rendering, profile cut, answer
    /// format, and in closed mode the candidate pool.
    public var promptHash: String {
        let c = configurationValues
        var parts = ["mode=\(c.mode.rawValue)", "json=\(c.jsonMode)", c.renderer.canonical, c.profileOptions.canonical]
        switch c.mode {
        case .open: parts.append(c.openTemplate.sha256)
        case .closed:
            parts.append(c.closedTemplate.sha256)
            parts.append("pool=\(c.candidates?.hash ?? "")")
            parts.append("maxCandidates=\(c.maxCandidates)")
        }
        return SHA256.hex(parts.joined(separator: "|"))
    }

    public var configuration: [String: String] {
        let c = configurationValues
        var d: [String: String] = [
            "base_url": c.baseURL.absoluteString, "model": c.model, "mode": c.mode.rawValue, "k": String(c.k),
            "json_mode": String(c.jsonMode), "timeout_s": String(c.timeout), "max_attempts": String(c.retry.maxAttempts),
            "template": c.mode == .open ? c.openTemplate.name : c.closedTemplate.name,
            "template_sha256": c.mode == .open ? c.openTemplate.sha256 : c.closedTemplate.sha256,
            "profile": c.profileOptions.canonical, "render": c.renderer.canonical,
        ]
        if let t = c.temperature { d["temperature"] = String(t) }
        if let m = c.maxTokens { d["max_tokens"] = String(m) }
        if let s = c.seed { d["seed"] = String(s) }
        if let n = c.apiKeyEnv { d["api_key_env"] = n }
        if c.mode == .closed {
            d["candidates"] = c.candidates?.source ?? ""
            d["max_candidates"] = String(c.maxCandidates)
        }
        return d
    }

    /// The chat messages of the open-ended prompt for a profile (also used by the SFT export).
    public func openMessages(for profile: UserProfile) -> [ChatCompletions.Message] {
        let c = configurationValues
        let (system, user) = c.openTemplate.render(c.renderer.values(profile: profile, k: c.k, json: c.jsonMode))
        return [.init(role: "system", content: system), .init(role: "user", content: user)]
    }

    func closedMessages(for profile: UserProfile, statement: String) -> [ChatCompletions.Message] {
        let c = configurationValues
        var values = c.renderer.values(profile: profile, k: c.k, json: false)
        values["statement"] = c.renderer.sanitise(statement)
        let (system, user) = c.closedTemplate.render(values)
        return [.init(role: "system", content: system), .init(role: "user", content: user)]
    }

    public func rationales(for profile: UserProfile) async throws -> ReasonerOutput {
        // No liked items, nothing to reason from: no request, no rationales.
        guard !profile.liked.isEmpty else { return ReasonerOutput(rationales: []) }
        switch mode {
        case .open: return try await open(profile)
        case .closed: return try await closed(profile)
        }
    }

    func open(_ profile: UserProfile) async throws -> ReasonerOutput {
        let c = configurationValues
        let request = ChatCompletions.Request(
            model: c.model, messages: openMessages(for: profile), temperature: c.temperature, max_tokens: c.maxTokens,
            seed: c.seed, response_format: c.jsonMode ? .init(type: "json_object") : nil)
        let ex = try await client.post("chat/completions", body: request, decode: ChatCompletions.decode)
        let content = ex.value.choices[0].message?.content ?? ""
        let parser = RationaleParser(k: c.k, maxLength: c.maxRationaleLength, lowercase: c.lowercase)
        return ReasonerOutput(rationales: stamp(parser.parse(content)), usage: Self.usage(ex.value), requests: ex.attempts)
    }

    func closed(_ profile: UserProfile) async throws -> ReasonerOutput {
        let c = configurationValues
        let candidates = c.candidates?.candidates(for: profile, limit: c.maxCandidates) ?? []
        var kept: [(text: String, p: Double, order: Int)] = []
        var usage = TokenUsage.zero
        var requests = 0
        for (i, cand) in candidates.enumerated() {
            let request = ChatCompletions.Request(
                model: c.model, messages: closedMessages(for: profile, statement: cand), temperature: 0,
                max_tokens: c.closedMaxTokens, seed: c.seed, response_format: nil,
                logprobs: c.logprobs ? true : nil, top_logprobs: c.logprobs ? 5 : nil)
            let ex = try await client.post("chat/completions", body: request, decode: ChatCompletions.decode)
            usage += Self.usage(ex.value)
            requests += ex.attempts
            let choice = ex.value.choices[0]
            if let p = ChatCompletions.yesProbability(choice) {
                if p > 0.5 { kept.append((cand, p, i)) }
            } else if ChatCompletions.answerWord(choice.message?.content ?? "") == "yes" {
                kept.append((cand, 1, i))
            }
        }
        let ordered = kept.sorted { $0.p != $1.p ? $0.p > $1.p : $0.order < $1.order }.prefix(c.k).map(\.text)
        return ReasonerOutput(rationales: stamp(Array(ordered)), usage: usage, requests: requests)
    }

    static func usage(_ r: ChatCompletions.Response) -> TokenUsage {
        TokenUsage(promptTokens: r.usage?.prompt_tokens ?? 0, completionTokens: r.usage?.completion_tokens ?? 0)
    }
}
