import Foundation

/// What a rationale is, for quality accounting: usable, or one of the defects small models
/// produce. A rationale gets the *first* class that applies, in the order of `allCases`.
public enum RationaleClass: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// A copy or near-copy of the title of an item in the user's own prompt ("Air Force One: 1997").
    case nearCopy = "near-copy"
    /// Contains a question mark ("What's your question?").
    case question
    /// The assistant talking: first or second person ("I'm ready to assist you", "here are …").
    case assistantTalk = "assistant-talk"
    /// Mostly numbers: ids, ratings or years ("The user's list of items is: 16, 19, 20").
    case numbers
    /// Talks about the prompt's apparatus — the list, the items, the ratings, the most recent one —
    /// rather than about taste ("The most recent item is "Chinatown (1974)"").
    case promptTalk = "prompt-talk"
    /// An item title with its year ("Heat (1995)", "…: 1997") that was not a near-copy of a prompt title.
    case titleWithYear = "title-with-year"
    /// No preference predicate (enjoys, prefers, values, avoids, looks for …) and no reference to
    /// the user: a noun phrase or a statement about something else.
    case noPreference = "no-preference"
    /// None of the above.
    case ok

    public var description: String { rawValue }

    /// The meta-talk classes: not a statement about the user's preferences.
    public var isMetaTalk: Bool {
        switch self {
        case .question, .assistantTalk, .numbers, .promptTalk, .titleWithYear, .noPreference: return true
        case .nearCopy, .ok: return false
        }
    }
}

/// Deterministic rules that classify one rationale against the titles of the items in its prompt.
///
/// Text is normalised first: lowercased, every character that is not a letter, digit or
/// apostrophe becomes a space, spaces collapse. Then, in order:
///
/// 1. **near-copy** of a prompt title `t` when any of
///    - character-trigram Jaccard(normalised rationale, normalised `t`) ≥ `trigramJaccardCutoff` (0.5);
///    - the share of the rationale's content tokens (not in `stopwords`) that are tokens of `t`
///      ≥ `titleTokenShareCutoff` (0.6), the rationale having at least one content token;
///    - when an embedder is given (`RationaleQuality.measure`), cosine(rationale, `t`) ≥
///      `embeddingCutoff` (0.85);
/// 2. **question**: the raw text contains "?";
/// 3. **assistant-talk**: a token of `firstSecondPerson` (i, i'm, me, my, we, you, your …) or a
///    phrase of `assistantPhrases` ("here are", "as an ai", "assist", "sure" at the start …);
/// 4. **numbers**: ≥ 3 numeric tokens, or numeric tokens make up ≥ half of the tokens;
/// 5. **prompt-talk**: a phrase of `promptPhrases` ("the list", "most recent", "the item", "rated" …);
/// 6. **title-with-year**: a year 1900–2039 in parentheses, or a title ending in ": YEAR"/" YEAR";
/// 7. **no-preference**: no token of `preferencePredicates` (enjoys, likes, prefers, values, avoids,
///    looks, seeks, fan, drawn …) and no token of `userReferences` (user, they, viewer, shopper …);
/// 8. otherwise **ok**.
public struct RationaleQualityRules: Sendable, Hashable, Codable {
    public var trigramJaccardCutoff: Double
    public var titleTokenShareCutoff: Double
    public var embeddingCutoff: Double

    public init(trigramJaccardCutoff: Double = 0.5, titleTokenShareCutoff: Double = 0.6, embeddingCutoff: Double = 0.85) {
        self.trigramJaccardCutoff = trigramJaccardCutoff
        self.titleTokenShareCutoff = titleTokenShareCutoff
        self.embeddingCutoff = embeddingCutoff
    }

    /// A stable one-line rendering (recorded with filtered runs).
    public var canonical: String {
        "quality-v1;jaccard3=\(trigramJaccardCutoff);tokenShare=\(titleTokenShareCutoff);cosine=\(embeddingCutoff)"
    }

    // MARK: Word sets (all lowercase, apostrophes kept)

    public static let stopwords: Set<String> = [
        "a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "with", "from", "by", "is", "are", "was",
        "were", "be", "it", "its", "this", "that", "these", "those", "as", "s",
    ]
    public static let firstSecondPerson: Set<String> = [
        "i", "i'm", "im", "i'll", "i've", "i'd", "me", "my", "mine", "myself", "we", "we're", "we'll", "us", "our",
        "let's", "you", "you're", "you'll", "you've", "your", "yours",
    ]
    public static let assistantPhrases: [String] = [
        "here are", "here is", "here's", "as an ai", "language model", "assist", "happy to help", "sorry",
        "certainly", "of course", "please provide", "based on the", "in summary",
    ]
    /// Only at the start of a rationale ("sure, …", "okay").
    public static let assistantOpeners: Set<String> = ["sure", "okay", "ok", "hello", "hi", "yes", "no", "thanks", "note"]
    public static let promptPhrases: [String] = [
        "the list", "list of", "the user's list", "most recent", "the item", "the items", "this item", "these items",
        "item is", "items are", "item number", "rated", "rating", "ratings", "rationale", "rationales", "the prompt",
        "the statement", "the question", "the answer", "the movie is", "the film is", "the product is", "the book is",
    ]
    public static let preferencePredicates: Set<String> = [
        "enjoy", "enjoys", "enjoyed", "enjoying", "like", "likes", "liked", "love", "loves", "loved", "prefer", "prefers",
        "preferred", "favour", "favours", "favor", "favors", "favourite", "favorite", "value", "values", "valued",
        "appreciate", "appreciates", "seek", "seeks", "want", "wants", "avoid", "avoids", "dislike", "dislikes", "hate",
        "hates", "admire", "admires", "relish", "relishes", "adore", "adores", "crave", "craves", "gravitate",
        "gravitates", "lean", "leans", "drawn", "interested", "fond", "keen", "fan", "fans", "care", "cares", "look",
        "looks", "shop", "shops", "buy", "buys", "watch", "watches", "read", "reads", "listen", "listens", "collect",
        "collects", "attracted", "partial", "devoted", "passionate", "taste", "tastes", "preference", "preferences",
        "responds", "delights", "savours", "savors", "chooses", "choose", "picks", "opts", "favoring",
        "favouring", "treasures", "embraces", "celebrates", "champions",
    ]
    public static let userReferences: Set<String> = [
        "user", "user's", "they", "their", "he", "she", "his", "her", "someone", "viewer", "viewers", "reader", "readers",
        "customer", "shopper", "listener", "person", "audience",
    ]

    // MARK: Normalisation and similarities

    /// Lowercase; characters other than letters, digits and apostrophes become spaces; spaces collapse.
    public static func normalise(_ s: String) -> String {
        var out = ""
        var space = true
        for ch in s.lowercased() {
            let c: Character = (ch.isLetter || ch.isNumber || ch == "'" || ch == "’") ? (ch == "’" ? "'" : ch) : " "
            if c == " " {
                if space { continue }
                space = true
            } else {
                space = false
            }
            out.append(c)
        }
        if out.hasSuffix(" ") { out.removeLast() }
        return out
    }

    public static func tokens(_ s: String) -> [String] {
        normalise(s).split(separator: " ").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "'")) }.filter { !$0.isEmpty }
    }

    /// Character trigrams of an already normalised string (the string itself when shorter than 3).
    public static func trigrams(_ normalised: String) -> Set<String> {
        let c = Array(normalised)
        guard c.count >= 3 else { return c.isEmpty ? [] : [normalised] }
        var out = Set<String>()
        for i in 0...(c.count - 3) { out.insert(String(c[i..<(i + 3)])) }
        return out
    }

    /// Jaccard similarity of the two texts' character trigrams after normalisation (0 when both are empty).
    public static func trigramJaccard(_ a: String, _ b: String) -> Double {
        let x = trigrams(normalise(a)), y = trigrams(normalise(b))
        let union = x.union(y).count
        return union == 0 ? 0 : Double(x.intersection(y).count) / Double(union)
    }

    /// Share of `text`'s content tokens (not stopwords) that are tokens of `title`; 0 without content tokens.
    public static func titleTokenShare(_ text: String, title: String) -> Double {
        let content = tokens(text).filter { !stopwords.contains($0) }
        guard !content.isEmpty else { return 0 }
        let t = Set(tokens(title))
        return Double(content.filter { t.contains($0) }.count) / Double(content.count)
    }

    static func isNumeric(_ t: String) -> Bool { !t.isEmpty && t.allSatisfy { $0.isNumber } }

    static func isYear(_ t: String) -> Bool {
        guard t.count == 4, let y = Int(t) else { return false }
        return (1900...2039).contains(y)
    }

    static func containsPhrase(_ normalised: String, _ phrase: String) -> Bool {
        (" " + normalised + " ").contains(" " + phrase + " ")
    }

    // MARK: Classification

    /// Whether `text` is a near-copy of `title` by the lexical rules (trigram Jaccard or token share).
    public func isLexicalNearCopy(_ text: String, title: String) -> Bool {
        guard !Self.normalise(title).isEmpty else { return false }
        return Self.trigramJaccard(text, title) >= trigramJaccardCutoff
            || Self.titleTokenShare(text, title: title) >= titleTokenShareCutoff
    }

    /// The class of one rationale. `titles`: the titles of the items in its prompt;
    /// `titleSimilarity`: the highest embedding cosine between the rationale and those titles, when measured.
    public func classify(_ text: String, titles: [String], titleSimilarity: Double? = nil) -> RationaleClass {
        if titles.contains(where: { isLexicalNearCopy(text, title: $0) }) { return .nearCopy }
        if let s = titleSimilarity, s >= embeddingCutoff { return .nearCopy }
        let norm = Self.normalise(text)
        let toks = Self.tokens(text)
        if text.contains("?") || text.contains("？") { return .question }
        if toks.contains(where: { Self.firstSecondPerson.contains($0) })
            || Self.assistantPhrases.contains(where: { Self.containsPhrase(norm, $0) })
            || (toks.first.map { Self.assistantOpeners.contains($0) } ?? false) {
            return .assistantTalk
        }
        let numeric = toks.filter(Self.isNumeric).count
        if numeric >= 3 || (numeric > 0 && 2 * numeric >= toks.count) { return .numbers }
        if Self.promptPhrases.contains(where: { Self.containsPhrase(norm, $0) }) { return .promptTalk }
        if Self.hasTitleYear(text, tokens: toks) { return .titleWithYear }
        if !toks.contains(where: { Self.preferencePredicates.contains($0) || Self.userReferences.contains($0) }) {
            return .noPreference
        }
        return .ok
    }

    /// "(1974)", or a final token that is a year after a colon or a title ("Air Force One: 1997", "Heat 1995").
    static func hasTitleYear(_ raw: String, tokens: [String]) -> Bool {
        let c = Array(raw)
        if c.count >= 6 {
            for i in 0...(c.count - 6) where c[i] == "(" && c[i + 5] == ")" {
                if isYear(String(c[(i + 1)..<(i + 5)])) { return true }
            }
        }
        if let last = tokens.last, isYear(last), tokens.count >= 2 {
            let before = tokens[tokens.count - 2]
            return !["in", "from", "since", "before", "after", "around", "of", "circa", "pre", "post"].contains(before)
        }
        return false
    }
}

/// Turns texts into embedding vectors (one per text, in order); cosine is taken between them.
/// The CLI passes the MiniLM encoder; tests pass a fake.
public typealias RationaleTextEmbedder = @Sendable ([String]) throws -> [[Float]]

/// One user's rationales beside the titles of the items in the prompt they were written from.
public struct RationaleQualityInput: Sendable, Hashable {
    public var userID: Int64
    public var texts: [String]
    public var titles: [String]
    public init(userID: Int64, texts: [String], titles: [String]) {
        self.userID = userID
        self.texts = texts
        self.titles = titles
    }
}

/// The quality of one run's rationales (issue 11, item 3). Shares of rationales are over all
/// rationales of the run; shares of users over users done in the run (those whose reasoner
/// returned nothing included).
public struct RationaleQuality: Sendable, Hashable, Codable {
    /// Users done in the run.
    public var users: Int
    /// Users with at least one rationale.
    public var usersWithRationale: Int
    /// Users with at least one rationale classed ok.
    public var usersWithOK: Int
    public var rationales: Int
    /// Rationales per class (every class present, zeros included).
    public var classCounts: [String: Int]
    /// Rationales whose duplicate key (`RationaleParser.dedupKey`) occurs for two or more users.
    public var crossUserDuplicates: Int
    /// Distinct duplicate keys over the run.
    public var distinctTexts: Int
    public var meanCharacters: Double
    public var meanWords: Double
    /// Whether embedding cosine took part in near-copy detection.
    public var embeddings: Bool
    public var rules: String
    /// Up to three examples per class other than ok, in user order.
    public var examples: [String: [String]]

    public func count(_ c: RationaleClass) -> Int { classCounts[c.rawValue] ?? 0 }
    public var metaTalk: Int { RationaleClass.allCases.filter(\.isMetaTalk).reduce(0) { $0 + count($1) } }

    static func share(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
    public var shareUsersWithRationale: Double { Self.share(usersWithRationale, users) }
    public var shareUsersWithOK: Double { Self.share(usersWithOK, users) }
    public var rationalesPerUser: Double { Self.share(rationales, users) }
    public var shareNearCopy: Double { Self.share(count(.nearCopy), rationales) }
    public var shareMetaTalk: Double { Self.share(metaTalk, rationales) }
    public var shareOK: Double { Self.share(count(.ok), rationales) }
    public var shareCrossUserDuplicates: Double { Self.share(crossUserDuplicates, rationales) }

    /// Classes each user's rationales, then the run's measures.
    /// - Returns: the measures and, per input (same order), each rationale's class.
    public static func measure(_ inputs: [RationaleQualityInput], rules: RationaleQualityRules = RationaleQualityRules(),
                               embedder: RationaleTextEmbedder? = nil) throws -> (quality: RationaleQuality, classes: [[RationaleClass]]) {
        var titleSim: [[Double?]] = inputs.map { [Double?](repeating: nil, count: $0.texts.count) }
        if let embedder {
            // Titles are embedded once each; rationales once per distinct text.
            let titles = Array(Set(inputs.flatMap(\.titles))).sorted()
            let texts = Array(Set(inputs.flatMap(\.texts))).sorted()
            let tv = try embedder(titles), xv = try embedder(texts)
            guard tv.count == titles.count, xv.count == texts.count else {
                throw ReasoningError.invalidConfiguration("embedder returned \(tv.count + xv.count) vectors for \(titles.count + texts.count) texts")
            }
            let tIndex = Dictionary(uniqueKeysWithValues: titles.enumerated().map { ($1, $0) })
            let xIndex = Dictionary(uniqueKeysWithValues: texts.enumerated().map { ($1, $0) })
            for (u, input) in inputs.enumerated() {
                for (j, text) in input.texts.enumerated() {
                    let x = xv[xIndex[text]!]
                    titleSim[u][j] = input.titles.map { cosine(x, tv[tIndex[$0]!]) }.max()
                }
            }
        }
        var counts = Dictionary(uniqueKeysWithValues: RationaleClass.allCases.map { ($0.rawValue, 0) })
        var examples: [String: [String]] = [:]
        var classes: [[RationaleClass]] = []
        var keyUsers: [String: Set<Int64>] = [:]
        var chars = 0, words = 0, n = 0, withAny = 0, withOK = 0
        for (u, input) in inputs.enumerated() {
            var cs: [RationaleClass] = []
            for (j, text) in input.texts.enumerated() {
                let c = rules.classify(text, titles: input.titles, titleSimilarity: titleSim[u][j])
                cs.append(c)
                counts[c.rawValue, default: 0] += 1
                if c != .ok, examples[c.rawValue, default: []].count < 3 { examples[c.rawValue, default: []].append(text) }
                keyUsers[RationaleParser.dedupKey(text), default: []].insert(input.userID)
                chars += text.count
                words += text.split(whereSeparator: { $0.isWhitespace }).count
                n += 1
            }
            if !cs.isEmpty { withAny += 1 }
            if cs.contains(.ok) { withOK += 1 }
            classes.append(cs)
        }
        var dup = 0
        for input in inputs { for t in input.texts where (keyUsers[RationaleParser.dedupKey(t)]?.count ?? 0) >= 2 { dup += 1 } }
        let q = RationaleQuality(users: inputs.count, usersWithRationale: withAny, usersWithOK: withOK, rationales: n,
                                 classCounts: counts, crossUserDuplicates: dup, distinctTexts: keyUsers.count,
                                 meanCharacters: n == 0 ? 0 : Double(chars) / Double(n),
                                 meanWords: n == 0 ? 0 : Double(words) / Double(n), embeddings: embedder != nil,
                                 rules: rules.canonical, examples: examples)
        return (q, classes)
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<min(a.count, b.count) {
            dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
        }
        return na == 0 || nb == 0 ? 0 : dot / (na.squareRoot() * nb.squareRoot())
    }

    /// The table `rec-data rationales-show --quality` prints.
    public var table: String {
        func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        var rows: [(String, String)] = [
            ("users done", "\(users)"),
            ("users with ≥ 1 rationale", "\(usersWithRationale) (\(pct(shareUsersWithRationale)))"),
            ("users with ≥ 1 ok rationale", "\(usersWithOK) (\(pct(shareUsersWithOK)))"),
            ("rationales", "\(rationales)"),
            ("rationales per user", String(format: "%.2f", rationalesPerUser)),
            ("ok", "\(count(.ok)) (\(pct(shareOK)))"),
            ("near-copy of a prompt title", "\(count(.nearCopy)) (\(pct(shareNearCopy)))\(embeddings ? "" : " [lexical only]")"),
            ("meta-talk / not about the user", "\(metaTalk) (\(pct(shareMetaTalk)))"),
        ]
        for c in RationaleClass.allCases where c.isMetaTalk {
            rows.append(("  \(c.rawValue)", "\(count(c)) (\(pct(Self.share(count(c), rationales))))"))
        }
        rows += [
            ("duplicated across users", "\(crossUserDuplicates) (\(pct(shareCrossUserDuplicates))); \(distinctTexts) distinct texts"),
            ("mean length", String(format: "%.1f characters, %.1f words", meanCharacters, meanWords)),
        ]
        let w = rows.map(\.0.count).max() ?? 0
        var out = rows.map { $0.0.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
        let bad = RationaleClass.allCases.filter { $0 != .ok && !(examples[$0.rawValue] ?? []).isEmpty }
        if !bad.isEmpty {
            out += "\nexamples:"
            for c in bad { for e in examples[c.rawValue]! { out += "\n  [\(c.rawValue)] \(e)" } }
        }
        return out + "\nrules: \(rules)"
    }
}
