import Foundation
import RecKit

/// Candidate rationales for closed-form (yes/no) reasoning.
///
/// Sources: other users' rationales from the store, catalog aspect phrases, or a file (one per
/// line; blank lines and `#` comments skipped). When a pool is larger than the per-user limit,
/// the candidates asked about are those with the most word overlap with the user's liked items
/// (log-damped counts, normalised by candidate length; ties keep pool order) — a cheap,
/// deterministic pre-filter so each user costs `limit` requests, not the pool size.
public struct CandidatePool: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var text: String
        /// Users whose own rationale this was; a user is never asked about only their own.
        public var owners: Set<Int64>
    }

    public var entries: [Entry]
    /// Where the pool came from, for run configuration.
    public var source: String

    public init(texts: [String], source: String) {
        var seen = Set<String>()
        entries = texts.compactMap { t in
            let s = t.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !s.isEmpty, seen.insert(RationaleParser.dedupKey(s)).inserted else { return nil }
            return Entry(text: s, owners: [])
        }
        self.source = source
    }

    /// Other users' rationales (e.g. from `RationaleStore.rationales(...)`).
    public init(rationales byUser: [Int64: [String]], source: String) {
        var index: [String: Int] = [:]
        var entries: [Entry] = []
        for user in byUser.keys.sorted() {
            for t in byUser[user]! {
                let key = RationaleParser.dedupKey(t)
                guard !key.isEmpty else { continue }
                if let i = index[key] { entries[i].owners.insert(user) } else {
                    index[key] = entries.count
                    entries.append(Entry(text: t, owners: [user]))
                }
            }
        }
        self.entries = entries
        self.source = source
    }

    /// Reads one candidate per line.
    public init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ReasoningError.invalidInput(file: path, line: 0, field: nil, message: "cannot read the candidates file (missing or not UTF-8)")
        }
        let lines = text.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else {
            throw ReasoningError.invalidInput(file: path, line: 1, field: nil, message: "no candidates (one rationale per line expected)")
        }
        self.init(texts: lines, source: "file:\((path as NSString).lastPathComponent)")
    }

    /// SHA-256 of the candidate texts, in order (part of a closed-form run's prompt hash).
    public var hash: String { SHA256.hex(entries.map(\.text).joined(separator: "\n")) }

    public var isEmpty: Bool { entries.isEmpty }

    /// The candidates to ask about for this user.
    public func candidates(for profile: UserProfile, limit: Int) -> [String] {
        let eligible = entries.filter { !($0.owners.count == 1 && $0.owners.contains(profile.userID)) }
        guard eligible.count > limit else { return eligible.map(\.text) }
        var df: [String: Int] = [:]
        for it in profile.liked { for w in Set(AspectCatalog.words(it.text)) { df[w, default: 0] += 1 } }
        let scored = eligible.enumerated().map { i, e -> (Int, Double) in
            let words = Set(AspectCatalog.words(e.text)).subtracting(AspectCatalog.stopwords)
            let s = words.reduce(0.0) { $0 + log(1 + Double(df[$1] ?? 0)) } / Double(max(words.count, 1)).squareRoot()
            return (i, s)
        }
        return scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(limit).map { eligible[$0.0].text }
    }
}
