/// How an import behaves. Every field has a command-line flag in `rec-data import`.
public struct ImportOptions: Sendable, Codable {
    /// Name the dataset gets in the store.
    public var datasetName: String
    /// Replace an existing dataset of the same name (in the same transaction: the old one stays if
    /// the new import fails).
    public var replace = false
    public var onError: OnErrorPolicy = .fail
    public var duplicates: DuplicatePolicy = .error
    /// Declared rating scale. When nil, the format's own scale is used, or else the observed range.
    public var scale: RatingScale?
    /// Overrides the scale-aware default like threshold.
    public var likeThreshold: Double?
    /// Template that composes each item's text.
    public var itemTemplate: String = ItemTextTemplate.standard.source
    /// Draw a progress line on stderr.
    public var showProgress = true
    /// Accept an import that yields no ratings (an empty or header-only file, or every row skipped).
    /// Off by default: an empty dataset is almost always a wrong file or a wrong column mapping.
    public var allowEmpty = false
    /// How many example issues a skipping import keeps for its report.
    public var maxExamples = 20
    /// Ratings sorted in memory at once before the insert (48 bytes each); more spill to a
    /// temporary file (in `TMPDIR`) and are merged, so memory stays flat for any file size.
    var sortRunLength = 1 << 20

    public init(datasetName: String) { self.datasetName = datasetName }
}

/// What an import did.
public struct ImportReport: Sendable, Codable, CustomStringConvertible {
    public var dataset: String
    public var format: String
    public var users = 0
    public var items = 0
    public var ratings = 0
    /// Rows read from rating files (accepted, before duplicate merging).
    public var ratingRowsAccepted = 0
    /// Duplicate (user, item) rows merged by the `last` or `mean` policy.
    public var duplicatesMerged = 0
    /// Skipped rows per kind of problem (only with `--on-error skip`).
    public var skipped: [String: Int] = [:]
    /// A few of the skipped rows, as messages.
    public var examples: [String] = []
    /// Optional descriptive fields that could not be read and were left empty (for example
    /// ml-100k's release year "unkonwn"), per field. These never reject a row.
    public var fieldsLeftEmpty: [String: Int] = [:]
    public var scale: RatingScale?
    public var seconds = 0.0

    public var ratingRowsPerSecond: Double { seconds > 0 ? Double(ratingRowsAccepted) / seconds : 0 }

    public var description: String {
        var s = "imported '\(dataset)' (\(format)): \(users) users, \(items) items, \(ratings) ratings"
        if let scale { s += ", scale \(scale)" }
        s += String(format: " in %.2fs", seconds)
        if duplicatesMerged > 0 { s += "\n  \(duplicatesMerged) duplicate ratings merged" }
        if !fieldsLeftEmpty.isEmpty {
            s += "\n  unreadable optional fields left empty: " + fieldsLeftEmpty.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        if !skipped.isEmpty {
            let total = skipped.values.reduce(0, +)
            s += "\n  skipped \(total) rows: " + skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            for e in examples.prefix(5) { s += "\n    " + e }
        }
        return s
    }
}
