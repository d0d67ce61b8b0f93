import Foundation

/// Turns a model's free-form answer into at most K clean, distinct rationales.
///
/// Accepted shapes, tried in order: a JSON object (`{"rationales": [...]}`, or the first array of
/// strings in any field), a JSON array of strings (or of objects with a `text`/`rationale`
/// field) — each possibly inside a Markdown code fence or after a sentence of preamble — and
/// otherwise plain lines. Lines lose numbering ("1.", "2)", "(3)", "a."), bullets ("-", "*", "•",
/// "+", "·"), surrounding quotes, bold markers, trailing commas and full stops; empty lines,
/// headings ("Here are 5 rationales:"), and code fences are skipped. Duplicates are compared
/// case- and punctuation-insensitively; the first spelling wins. ELLM lowercases its goals; that
/// is optional here (`lowercase`).
public struct RationaleParser: Sendable, Hashable {
    public enum Overlong: String, Sendable, Hashable, Codable {
        /// Cut at the last word boundary within `maxLength` characters.
        case truncate
        /// Drop the line (a paragraph is not a rationale).
        case drop
    }

    public var k: Int
    public var maxLength: Int
    public var minLength: Int
    public var overlong: Overlong
    public var lowercase: Bool

    public init(k: Int, maxLength: Int = 160, minLength: Int = 3, overlong: Overlong = .truncate, lowercase: Bool = false) {
        self.k = max(0, k)
        self.maxLength = max(8, maxLength)
        self.minLength = max(1, minLength)
        self.overlong = overlong
        self.lowercase = lowercase
    }

    public func parse(_ answer: String) -> [String] {
        let candidates = RationaleParser.jsonStrings(in: answer) ?? RationaleParser.lines(of: answer)
        var seen = Set<String>()
        var out: [String] = []
        for raw in candidates {
            if out.count >= k { break }
            guard var s = clean(raw) else { continue }
            if lowercase { s = s.lowercased() }
            let key = RationaleParser.dedupKey(s)
            if key.isEmpty || !seen.insert(key).inserted { continue }
            out.append(s)
        }
        return out
    }

    /// Case- and punctuation-insensitive identity of a rationale.
    public static func dedupKey(_ s: String) -> String {
        s.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == " " }
            .map(String.init).joined().split(separator: " ").joined(separator: " ")
    }

    // MARK: JSON

    static func jsonStrings(in answer: String) -> [String]? {
        let text = stripFences(answer)
        for (open, close) in [("{", "}"), ("[", "]")] {
            guard let a = text.firstIndex(of: Character(open)), let b = text.lastIndex(of: Character(close)), a < b else { continue }
            let slice = String(text[a...b])
            guard let obj = try? JSONSerialization.jsonObject(with: Data(slice.utf8), options: [.fragmentsAllowed]) else { continue }
            // A well-formed JSON answer is taken at its word, even when it holds no rationales.
            if let strings = strings(from: obj) { return strings }
        }
        return nil
    }

    static func strings(from obj: Any) -> [String]? {
        if let arr = obj as? [Any] {
            var out: [String] = []
            for e in arr {
                if let s = e as? String { out.append(s) }
                else if let d = e as? [String: Any] {
                    for key in ["rationale", "text", "statement", "value"] {
                        if let s = d[key] as? String { out.append(s); break }
                    }
                }
            }
            return out
        }
        if let d = obj as? [String: Any] {
            for key in ["rationales", "Rationales", "statements", "items", "preferences"] {
                if let v = d[key], let s = strings(from: v) { return s }
            }
            for key in d.keys.sorted() {
                if let v = d[key] as? [Any], let s = strings(from: v), !s.isEmpty { return s }
            }
        }
        return nil
    }

    static func stripFences(_ s: String) -> String {
        guard s.contains("```") else { return s }
        return s.components(separatedBy: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("```") }
            .joined(separator: "\n")
    }

    // MARK: Lines

    static func lines(of answer: String) -> [String] {
        var out: [String] = []
        for line in answer.components(separatedBy: CharacterSet.newlines) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("```") { continue }
            // A JSON-ish line such as `"rationales": [` or a lone bracket is structure, not content.
            if ["{", "}", "[", "]", "],", "},"].contains(t) { continue }
            if t.hasSuffix(":") || t.hasSuffix(": [") { continue }
            out.append(t)
        }
        return out
    }

    func clean(_ raw: String) -> String? {
        // Control characters, including escapes a model may echo, become spaces.
        var s = String(String.UnicodeScalarView(raw.unicodeScalars.map {
            let c = $0.properties.generalCategory
            return (c == .control || c == .format || c == .lineSeparator || c == .paragraphSeparator) ? " " : $0
        }))
        s = s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        var changed = true
        while changed && !s.isEmpty {
            changed = false
            let before = s
            s = RationaleParser.stripMarker(s)
            s = s.trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'`“”‘’*_,;"))
            if s.hasSuffix(".") && !s.hasSuffix("..") { s.removeLast() }
            if s != before { changed = true }
        }
        if s.isEmpty { return nil }
        if let colon = s.firstIndex(of: ":"), s.distance(from: s.startIndex, to: colon) < 30 {
            // "Rationale 1: enjoys …" → "enjoys …"
            let head = s[..<colon].lowercased()
            if head.hasPrefix("rationale") || head.hasPrefix("statement") || head.hasPrefix("preference") {
                s = String(s[s.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
        }
        guard s.count >= minLength, s.contains(where: { $0.isLetter }) else { return nil }
        if s.count > maxLength {
            switch overlong {
            case .drop: return nil
            case .truncate:
                let cut = s.prefix(maxLength)
                if let sp = cut.lastIndex(of: " "), cut.distance(from: cut.startIndex, to: sp) >= minLength {
                    s = String(cut[..<sp])
                } else {
                    s = String(cut)
                }
                s = s.trimmingCharacters(in: CharacterSet(charactersIn: " ,;:-"))
            }
        }
        return s.isEmpty || !s.contains(where: { $0.isLetter }) ? nil : s
    }

    /// Removes one leading list marker: bullets, "1." "2)" "(3)" "[4]" "a." "b)" and "#".
    static func stripMarker(_ s: String) -> String {
        let chars = Array(s)
        var i = 0
        if let f = chars.first, "-*•+·‣◦–—#>".contains(f) {
            i = 1
            while i < chars.count, chars[i] == f { i += 1 }
            guard i < chars.count, chars[i] == " " || f == "#" || f == "•" || f == "·" else { return s }
            return String(chars[i...]).trimmingCharacters(in: .whitespaces)
        }
        if chars.first == "(" || chars.first == "[" {
            var j = 1
            while j < chars.count, chars[j].isNumber { j += 1 }
            if j > 1, j < chars.count, chars[j] == ")" || chars[j] == "]" {
                return String(chars[(j + 1)...]).trimmingCharacters(in: .whitespaces)
            }
            return s
        }
        var j = 0
        while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
        if j > 0 && j <= 3, j < chars.count, ".):]".contains(chars[j]) {
            let rest = String(chars[(j + 1)...])
            // "1.5 kg tents" is content, not numbering: a marker is followed by a space.
            if rest.isEmpty || rest.first == " " { return rest.trimmingCharacters(in: .whitespaces) }
        }
        if chars.count >= 3, chars[0].isLetter, chars[0].isLowercase, chars[0].isASCII, ".)".contains(chars[1]), chars[2] == " " {
            return String(chars[3...]).trimmingCharacters(in: .whitespaces)
        }
        return s
    }
}
