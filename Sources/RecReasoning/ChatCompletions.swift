import Foundation

/// The subset of the OpenAI chat-completions API that llama.cpp's llama-server, Ollama, vLLM and
/// OpenAI all accept. Optional fields are omitted when nil, since some servers reject unknown or
/// null parameters.
public enum ChatCompletions {
    public struct Message: Codable, Sendable, Hashable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    public struct ResponseFormat: Codable, Sendable, Hashable {
        public var type: String
    }

    public struct Request: Encodable, Sendable {
        public var model: String
        public var messages: [Message]
        public var temperature: Double?
        public var max_tokens: Int?
        public var seed: Int?
        public var response_format: ResponseFormat?
        public var logprobs: Bool?
        public var top_logprobs: Int?
        public var stream: Bool = false
    }

    public struct TopLogprob: Decodable, Sendable, Hashable {
        public var token: String
        public var logprob: Double
    }

    public struct TokenLogprob: Decodable, Sendable, Hashable {
        public var token: String
        public var logprob: Double
        public var top_logprobs: [TopLogprob]?
    }

    public struct Logprobs: Decodable, Sendable, Hashable {
        public var content: [TokenLogprob]?
    }

    public struct ResponseMessage: Decodable, Sendable, Hashable {
        public var role: String?
        public var content: String?
    }

    public struct Choice: Decodable, Sendable, Hashable {
        public var index: Int?
        public var message: ResponseMessage?
        public var logprobs: Logprobs?
        public var finish_reason: String?
    }

    public struct Usage: Decodable, Sendable, Hashable {
        public var prompt_tokens: Int?
        public var completion_tokens: Int?
    }

    public struct Response: Decodable, Sendable, Hashable {
        public var choices: [Choice]
        public var usage: Usage?
        public var model: String?
    }

    public struct EmptyAnswer: Error, CustomStringConvertible {
        public var description: String
    }

    /// Decodes a response and insists on a first choice with a message: an empty `choices` array
    /// (which some servers send under load) is an unusable answer, not "no rationales".
    public static func decode(_ data: Data) throws -> Response {
        let r = try JSONDecoder().decode(Response.self, from: data)
        guard let first = r.choices.first else { throw EmptyAnswer(description: "the answer has an empty 'choices' array") }
        guard first.message?.content != nil else { throw EmptyAnswer(description: "choices[0].message.content is missing") }
        return r
    }

    /// P(yes) renormalised over yes/no from the first answer token's top log-probabilities (ELLM's
    /// closed-form scoring); nil when the server sent none or neither word is among them.
    public static func yesProbability(_ choice: Choice) -> Double? {
        guard let tokens = choice.logprobs?.content else { return nil }
        // The first token that is not only whitespace or punctuation carries the answer.
        for t in tokens {
            let candidates = (t.top_logprobs ?? []) + [TopLogprob(token: t.token, logprob: t.logprob)]
            if normalise(t.token).isEmpty { continue }
            var yes = 0.0, no = 0.0
            var seen = Set<String>()
            for c in candidates where seen.insert(c.token).inserted {
                switch normalise(c.token) {
                case "yes": yes += exp(c.logprob)
                case "no": no += exp(c.logprob)
                default: break
                }
            }
            return yes + no > 0 ? yes / (yes + no) : nil
        }
        return nil
    }

    /// The answer word: "yes", "no", or whatever else came first.
    public static func answerWord(_ text: String) -> String {
        for w in text.split(whereSeparator: { $0.isWhitespace }) {
            let n = normalise(String(w))
            if !n.isEmpty { return n }
        }
        return ""
    }

    static func normalise(_ token: String) -> String {
        token.lowercased().unicodeScalars.filter { CharacterSet.letters.contains($0) }.map(String.init).joined()
    }
}
