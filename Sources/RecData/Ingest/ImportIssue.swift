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

    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        let shown = value.count > 80 ? String(value.prefix(80)) + "…" : value
        return "\(place): field '\(field)': expected \(expected), found \(shown.isEmpty ? "nothing" : "'\(shown)'") [\(kind.rawValue)]"
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
