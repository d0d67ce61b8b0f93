import ArgumentParser
import Foundation
import RecData

// Typed values of the tools' options: a misspelt value is refused while parsing, with the list of
// valid ones, before any store is opened or any work starts.

/// `rec-data split --method`.
public enum SplitMethodKind: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// Per user, the latest ratings by time (`--valid K --test K`).
    case leaveLastOut = "leave-last-out"
    /// Per user, a seeded shuffle divided by `--ratios`.
    case random
    /// One global time cut by `--ratios`.
    case temporal
}

/// `--ratios`: comma-separated fractions, every entry a number.
public enum Ratios {
    /// Parses "0.8,0.1,0.1"; a field that is not a number is an error (never silently dropped,
    /// which would turn "0.8,O.1,0.1" into a two-field list or shift the fields).
    public static func parse(_ text: String) throws -> [Double] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { field in
            let f = field.trimmingCharacters(in: .whitespaces)
            guard let v = Double(f), v.isFinite else {
                throw ValidationError("'\(f)' is not a number; expected comma-separated fractions such as 0.8,0.1,0.1")
            }
            return v
        }
    }
}

/// `rec-data rationales --reasoner`: the reasoners that generate rationales.
public enum ReasonerKind: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// Offline and deterministic: distinctive genres, categories, decades and attributes.
    case aspect
    /// Any OpenAI-compatible chat-completions server.
    case openai
    /// A synthetic world's true preference statements.
    case oracle
}

/// `--reasoner` where a stored rationale run is read: a generating reasoner (aspect, openai,
/// oracle) or `imported:NAME` (rationales brought in by `rec-data rationales-import`).
public struct ReasonerName: Hashable, Sendable, CustomStringConvertible, ExpressibleByArgument {
    /// The name as the rationale store records it.
    public let rawValue: String

    /// A generating reasoner's runs.
    public init(_ kind: ReasonerKind) { rawValue = kind.rawValue }

    /// Accepts the names the store can hold; nil for anything else.
    public init?(argument: String) {
        if ReasonerKind(rawValue: argument) != nil {
            rawValue = argument
        } else if argument.hasPrefix("imported:"), argument.count > "imported:".count {
            rawValue = argument
        } else {
            return nil
        }
    }

    public var description: String { rawValue }
    public static var allValueStrings: [String] { ReasonerKind.allCases.map(\.rawValue) + ["imported:NAME"] }
}

/// `validate-rewards --part`: the held-out part of a split rewards are validated against.
public enum HeldOutPart: String, CaseIterable, Sendable, ExpressibleByArgument {
    case test
    case valid

    /// The store's part.
    public var splitPart: SplitPart { self == .test ? .test : .valid }
}

/// `rec-data import --time-format`: the raw values are the accepted spellings (unix, unix-ms, iso8601).
extension DelimitedMapping.TimestampFormat: ExpressibleByArgument {}
