import Foundation
import RecData
import RecKit

/// ELLM's two ways of asking a language model for goals, transposed to rationales.
public enum ReasoningMode: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Open-ended generation: the model writes K rationales from the user's liked items.
    case open
    /// Closed-form (QA): the model answers yes/no for each candidate rationale; the yes ones stay.
    case closed
    public var description: String { rawValue }
}

/// Tokens a backend reports having read and written.
public struct TokenUsage: Sendable, Hashable, Codable, CustomStringConvertible {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }
    public init(promptTokens: Int = 0, completionTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
    public static let zero = TokenUsage()
    public static func + (a: TokenUsage, b: TokenUsage) -> TokenUsage {
        TokenUsage(promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens)
    }
    public static func += (a: inout TokenUsage, b: TokenUsage) { a = a + b }
    public var description: String {
        "\(ProgressReporter.human(Double(promptTokens))) prompt + \(ProgressReporter.human(Double(completionTokens))) completion tokens"
    }
}

/// One short, checkable statement of what a user values, and where it came from.
public struct Rationale: Sendable, Hashable, Codable, CustomStringConvertible {
    public var text: String
    /// The reasoner's identifier ("aspect", "openai", "oracle", "imported:NAME").
    public var reasonerID: String
    public var model: String
    /// SHA-256 (hex) of everything that shaped the prompt (template, rendering settings).
    public var promptHash: String
    /// 0-based position in the user's list (most important first).
    public var index: Int

    public init(text: String, reasonerID: String, model: String, promptHash: String, index: Int) {
        self.text = text
        self.reasonerID = reasonerID
        self.model = model
        self.promptHash = promptHash
        self.index = index
    }
    public var description: String { text }
}

/// What a reasoner returns for one user.
public struct ReasonerOutput: Sendable, Hashable {
    public var rationales: [Rationale]
    public var usage: TokenUsage
    /// Backend requests made for this user, retries included (0 for reasoners without a backend).
    public var requests: Int
    public init(rationales: [Rationale], usage: TokenUsage = .zero, requests: Int = 0) {
        self.rationales = rationales
        self.usage = usage
        self.requests = requests
    }
    public var texts: [String] { rationales.map(\.text) }
}

/// Reads a user's profile (training-split items they rated highly) and writes rationales.
///
/// The identity of a reasoner — `id`, `model`, `promptHash`, `mode`, `k` — names a *run* in the
/// rationale store: generation with the same identity resumes that run instead of starting over,
/// so anything that changes what a reasoner would write must change one of them.
public protocol Reasoner: Sendable {
    /// "aspect", "openai", "oracle", or "imported:NAME".
    var id: String { get }
    /// The model name ("aspect-v1" for the offline reasoner).
    var model: String { get }
    /// SHA-256 hex over the prompt templates and every setting that shapes the prompt.
    var promptHash: String { get }
    var mode: ReasoningMode { get }
    /// The most rationales returned per user.
    var k: Int { get }
    /// Settings recorded with a run (as JSON). Must never contain secrets.
    var configuration: [String: String] { get }
    /// How this reasoner wants profiles cut (part of its prompt hash).
    var profileOptions: ProfileOptions { get }
    /// Rationales for one user. Throws on failure; never returns a partial answer.
    func rationales(for profile: UserProfile) async throws -> ReasonerOutput
}

extension Reasoner {
    /// Wraps texts into `Rationale`s stamped with this reasoner's identity.
    public func stamp(_ texts: [String]) -> [Rationale] {
        texts.enumerated().map { Rationale(text: $1, reasonerID: id, model: model, promptHash: promptHash, index: $0) }
    }
}

/// Errors of the reasoning layer.
public enum ReasoningError: Error, CustomStringConvertible, Sendable {
    /// Generating for one user failed; nothing was stored for that user.
    case userFailed(user: String, attempts: Int, reason: String)
    case invalidConfiguration(String)
    /// A malformed input file: which file, which line, which field.
    case invalidInput(file: String, line: Int, field: String?, message: String)
    case noRun(String)

    public var description: String {
        switch self {
        case let .userFailed(u, a, r):
            return "user \(u): rationale generation failed after \(a == 1 ? "1 attempt" : "\(a) attempts"): \(r) (nothing stored for this user; rerun to resume)"
        case .invalidConfiguration(let m): return m
        case let .invalidInput(f, l, field, m):
            return "\(f):\(l)\(field.map { ": field '\($0)'" } ?? ""): \(m)"
        case .noRun(let m): return m
        }
    }
}
