/// What kind of problem a row of input has. `--on-error skip` reports counts per kind.
public enum ImportIssueKind: String, Codable, Sendable, CaseIterable, Comparable {
    case wrongColumnCount = "wrong-column-count"
    case nonNumeric = "non-numeric"
    case outOfScale = "out-of-scale"
    case missingID = "missing-id"
    case badEncoding = "bad-encoding"
    case brokenJSON = "broken-json"
    case brokenCSV = "broken-csv"
    case duplicateRating = "duplicate-rating"
    case badHeader = "bad-header"
    case unreadableFile = "unreadable-file"
    /// The whole import produced no rating (see `ImportOptions.allowEmpty`); never skipped.
    case noRatings = "no-ratings"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One malformed row or field, located precisely: file, line, field, the offending value and what
/// was expected instead.
public struct ImportIssue: Error, CustomStringConvertible, Sendable, Equatable, Codable {
    public var kind: ImportIssueKind
    public var file: String
    /// 1-based line number; 0 when the problem concerns the whole file.
    public var line: Int
    public var field: String
    public var value: String
    public var expected: String

    public init(_ kind: ImportIssueKind, file: String, line: Int, field: String, value: String, expected: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.field = field
        self.value = value
        self.expected = expected
    }

    /// The message, with control characters from the input escaped (`\x1b`): a message is printed
    /// on a terminal, and raw ESC or BEL bytes from a file would drive it.
    public var description: String {
        let place = Self.escaped(line > 0 ? "\(file):\(line)" : file)
        let shown = Self.escaped(value.count > 120 ? String(value.prefix(120)) + "…" : value)
        return "\(place): field '\(Self.escaped(field))': expected \(Self.escaped(expected)), found \(shown.isEmpty ? "nothing" : "'\(shown)'") [\(kind.rawValue)]"
    }

    /// `text` with C0/C1 control characters and DEL written as `\xNN`.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else { return text }
        var out = ""
        for s in text.unicodeScalars {
            if s.value < 0x20 || (0x7F...0x9F).contains(s.value) {
                let hex = String(s.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out
    }
}

/// What to do with a malformed row.
public enum OnErrorPolicy: String, Codable, Sendable, CaseIterable {
    /// Abort the import at the first problem; the database is left exactly as before.
    case fail
    /// Import the valid rows and report counts of each kind of problem.
    case skip
}

/// What to do when the same (user, item) pair is rated more than once.
public enum DuplicatePolicy: String, Codable, Sendable, CaseIterable {
    /// Keep the rating with the latest timestamp; on equal timestamps, the one later in the file.
    case last
    /// Keep the mean of all ratings of the pair and the latest timestamp.
    case mean
    /// Treat a repeated pair as a malformed row (subject to `OnErrorPolicy`).
    case error
}
