import Foundation
import GRDB
import GRDBSQLite
import RecKit

/// Writes one dataset's users, items and ratings inside the import's single transaction.
///
/// Importers parse their files and hand rows to this type; it owns id assignment, the duplicate
/// and error policies, scale checks, item-text composition and progress. It binds parameters with
/// the raw SQLite API because the GRDB statement API costs 2-3x on this hot path (MEASURED.md).
/// Memory stays proportional to the number of users and items (the id maps), never to ratings.
public final class DatasetWriter {
    public let datasetID: Int64
    public let options: ImportOptions
    let db: Database
    let template: ItemTextTemplate
    /// The declared or format scale; nil means "infer from the data".
    public private(set) var scale: RatingScale?
    private(set) var observedMin = Double.infinity
    private(set) var observedMax = -Double.infinity

    private var userIDs = ByteKeyMap()
    private var itemIDs = ByteKeyMap()
    private var itemsWithFields = Set<Int64>()
    private var insertUser: OpaquePointer?
    private var updateUser: OpaquePointer?
    private var insertItem: OpaquePointer?
    private var updateItem: OpaquePointer?
    private var insertRating: OpaquePointer?
    private var insertRatings: OpaquePointer?
    /// Rows per multi-row INSERT: one statement execution costs about as much as inserting a few
    /// rows, so batching halves the insert time (Docs/benchmarks.md); 64 × 6 parameters stay far
    /// below SQLite's variable limit.
    static let ratingsPerInsert = 64
    private let staged: RatingRunSorter

    var report: ImportReport
    let progress: ProgressReporter
    private var progressBase = 0

    init(db: Database, datasetID: Int64, options: ImportOptions, format: String, scale: RatingScale?,
         totalBytes: Int) throws {
        self.db = db
        self.datasetID = datasetID
        self.options = options
        self.scale = scale
        self.template = try ItemTextTemplate(options.itemTemplate)
        self.report = ImportReport(dataset: options.datasetName, format: format)
        self.progress = ProgressReporter(label: "import \(options.datasetName)", unit: "rows",
                                         totalBytes: totalBytes, enabled: options.showProgress ? nil : false)
        let conn = db.sqliteConnection!
        func prepare(_ sql: String) throws -> OpaquePointer? {
            var stmt: OpaquePointer?
            let rc = sqlite3_prepare_v3(conn, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
            guard rc == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(conn)), sql: sql) }
            return stmt
        }
        insertUser = try prepare("INSERT INTO user(dataset_id, external_id, attributes, preference_statement) VALUES (?1, ?2, ?3, ?4)")
        updateUser = try prepare("UPDATE user SET attributes = ?2, preference_statement = coalesce(?3, preference_statement) WHERE id = ?1")
        insertItem = try prepare("""
            INSERT INTO item(dataset_id, external_id, title, description, genres, categories, year, price, attributes, text)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """)
        updateItem = try prepare("""
            UPDATE item SET title = ?3, description = ?4, genres = ?5, categories = ?6, year = ?7, price = ?8,
                attributes = ?9, text = ?10 WHERE id = ?1 AND external_id = ?2
            """)
        // Ratings are sorted by the rating table's key (user, item) outside SQLite, in bounded
        // memory, and inserted in that order at the end: the B-tree then grows by appends instead
        // of random inserts, and duplicates arrive next to each other for the duplicate policy.
        staged = RatingRunSorter(runLength: max(1, options.sortRunLength))
        let ratingInsert = "INSERT INTO rating(dataset_id, user_id, item_id, value, timestamp, merged) VALUES "
        insertRating = try prepare(ratingInsert + "(?, ?, ?, ?, ?, ?)")
        insertRatings = try prepare(ratingInsert + Array(repeating: "(?, ?, ?, ?, ?, ?)", count: Self.ratingsPerInsert).joined(separator: ", "))
    }

    deinit {
        for s in [insertUser, updateUser, insertItem, updateItem, insertRating, insertRatings] { sqlite3_finalize(s) }
    }

    // MARK: Issues

    /// Records a malformed row: throws it under `--on-error fail`, counts it under `skip`.
    public func issue(_ issue: ImportIssue) throws {
        switch options.onError {
        case .fail: throw issue
        case .skip:
            report.skipped[issue.kind.rawValue, default: 0] += 1
            if report.examples.count < options.maxExamples { report.examples.append(issue.description) }
        }
    }

    /// Notes an optional descriptive field (year, price...) that could not be read and is left
    /// empty. Ratings and ids are never optional: those go through `issue(_:)`.
    public func leftEmpty(field: String) {
        report.fieldsLeftEmpty[field, default: 0] += 1
    }

    // MARK: Progress

    /// Reports progress: `bytes` is the offset in the current file; files are counted in sequence.
    @inline(__always)
    public func progressed(rows: Int = 1, bytesInFile: Int) {
        progress.advance(by: rows, bytes: progressBase + bytesInFile)
    }

    /// Marks the end of one input file for progress accounting.
    public func finishedFile(size: Int) { progressBase += size }

    // MARK: Users

    /// The id of a user, created bare when first seen.
    @inline(__always)
    public func userID(_ externalID: String) throws -> Int64 {
        if let id = userIDs.value(for: externalID) { return id }
        return try createUser(externalID, attributes: "{}", preference: nil)
    }

    /// The id of a user already seen, looked up from the id's UTF-8 bytes without building a
    /// String (the import's hot path); nil for a user not seen yet.
    @inline(__always)
    public func knownUserID(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        userIDs.value(for: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[range]))
    }

    /// Stores a user's attributes (and, for synthetic worlds, the true preference statement).
    @discardableResult
    public func putUser(externalID: String, attributes: [String: String], preference: String? = nil) throws -> Int64 {
        let attrs = RatingStore.encodeAttributes(attributes)
        if let id = userIDs.value(for: externalID) {
            sqlite3_bind_int64(updateUser, 1, id)
            bindText(updateUser, 2, attrs)
            if let preference { bindText(updateUser, 3, preference) } else { sqlite3_bind_null(updateUser, 3) }
            try step(updateUser)
            return id
        }
        return try createUser(externalID, attributes: attrs, preference: preference)
    }

    private func createUser(_ externalID: String, attributes: String, preference: String?) throws -> Int64 {
        sqlite3_bind_int64(insertUser, 1, datasetID)
        bindText(insertUser, 2, externalID)
        bindText(insertUser, 3, attributes)
        if let preference { bindText(insertUser, 4, preference) } else { sqlite3_bind_null(insertUser, 4) }
        try step(insertUser)
        let id = sqlite3_last_insert_rowid(db.sqliteConnection)
        userIDs.set(id, for: externalID)
        report.users += 1
        return id
    }

    // MARK: Items

    /// The id of an item, created bare (no fields, empty text) when first seen in a ratings file.
    @inline(__always)
    public func itemID(_ externalID: String) throws -> Int64 {
        if let id = itemIDs.value(for: externalID) { return id }
        return try writeItem(ItemFields(externalID: externalID), bare: true)
    }

    /// The id of an item already seen, from its id's UTF-8 bytes; nil for an item not seen yet.
    @inline(__always)
    public func knownItemID(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        itemIDs.value(for: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[range]))
    }

    /// Whether an item with this external id has been written.
    public func hasItem(_ externalID: String) -> Bool { itemIDs.value(for: externalID) != nil }

    /// Stores an item's fields and composes its text. A second `putItem` for the same external id
    /// (a repeated metadata line) replaces the fields.
    @discardableResult
    public func putItem(_ fields: ItemFields) throws -> Int64 { try writeItem(fields, bare: false) }

    private func writeItem(_ f: ItemFields, bare: Bool) throws -> Int64 {
        let existing = itemIDs.value(for: f.externalID)
        let stmt = existing == nil ? insertItem : updateItem
        sqlite3_bind_int64(stmt, 1, existing ?? datasetID)
        bindText(stmt, 2, f.externalID)
        bindText(stmt, 3, f.title)
        bindText(stmt, 4, f.description)
        bindText(stmt, 5, RatingStore.joinList(f.genres))
        bindText(stmt, 6, RatingStore.joinList(f.categories))
        if let y = f.year { sqlite3_bind_int64(stmt, 7, Int64(y)) } else { sqlite3_bind_null(stmt, 7) }
        if let p = f.price { sqlite3_bind_double(stmt, 8, p) } else { sqlite3_bind_null(stmt, 8) }
        bindText(stmt, 9, RatingStore.encodeAttributes(f.attributes))
        bindText(stmt, 10, bare ? "" : template.render(f))
        try step(stmt)
        if let existing { return existing }
        let id = sqlite3_last_insert_rowid(db.sqliteConnection)
        itemIDs.set(id, for: f.externalID)
        report.items += 1
        return id
    }

    // MARK: Ratings

    /// Adds one rating. Checks the scale (when declared) and applies the duplicate policy.
    @inline(__always)
    public func addRating(user: Int64, item: Int64, value: Double, timestamp: Int64,
                          file: String, line: Int, field: String = "rating") throws {
        if let scale, !scale.contains(value) {
            try issue(ImportIssue(.outOfScale, file: file, line: line, field: field, value: RatingScale.fmt(value),
                                  expected: "a rating on the scale \(RatingScale.fmt(scale.min))–\(RatingScale.fmt(scale.max))"))
            return
        }
        try staged.append(StagedRating(user: user, item: item, value: value, timestamp: timestamp, sequence: Int64(staged.count),
                                       file: Int32(fileIndex(file)), line: Int32(clamping: line)))
        if value < observedMin { observedMin = value }
        if value > observedMax { observedMax = value }
        report.ratingRowsAccepted += 1
    }

    private var files: [String] = []
    @inline(__always) private func fileIndex(_ file: String) -> Int {
        if let last = files.last, last == file { return files.count - 1 }
        if let i = files.firstIndex(of: file) { return i }
        files.append(file)
        return files.count - 1
    }

    /// Writes the staged ratings into the rating table, in key order, under the duplicate policy.
    /// `last` keeps the latest timestamp (ties: the later line); `mean` averages in arrival order
    /// and keeps the latest timestamp; `error` reports each repeated pair with its file and line,
    /// earliest first (under `--on-error skip` the first rating of a pair is kept).
    func flushRatings() throws {
        let policy = options.duplicates
        var current: StagedRating?
        var merged: Int64 = 0
        var repeats = DuplicateLog(keep: options.onError == .fail ? 1 : options.maxExamples)
        // Rows collect into batches for the multi-row statement; the last, partial batch goes
        // through the one-row statement.
        var batch: [(row: StagedRating, merged: Int64)] = []
        batch.reserveCapacity(Self.ratingsPerInsert)
        func bind(_ s: OpaquePointer?, _ slot: Int, _ r: StagedRating, _ merged: Int64) {
            let b = Int32(slot * 6)
            sqlite3_bind_int64(s, b + 1, datasetID)
            sqlite3_bind_int64(s, b + 2, r.user)
            sqlite3_bind_int64(s, b + 3, r.item)
            sqlite3_bind_double(s, b + 4, r.value)
            sqlite3_bind_int64(s, b + 5, r.timestamp)
            sqlite3_bind_int64(s, b + 6, merged)
        }
        func write(_ r: StagedRating) throws {
            batch.append((r, merged))
            guard batch.count == Self.ratingsPerInsert else { return }
            for (slot, b) in batch.enumerated() { bind(insertRatings, slot, b.row, b.merged) }
            try step(insertRatings)
            batch.removeAll(keepingCapacity: true)
        }
        try staged.forEachSorted { row in
            guard var c = current, c.user == row.user, c.item == row.item else {
                if let c = current { try write(c) }
                current = row
                merged = 1
                return
            }
            switch policy {
            case .last:
                if row.timestamp >= c.timestamp { c.value = row.value; c.timestamp = row.timestamp }
                merged += 1
            case .mean:
                // The running mean in arrival order, as the SQL upsert of earlier versions computed it.
                c.value = (c.value * Double(merged) + row.value) / Double(merged + 1)
                c.timestamp = max(c.timestamp, row.timestamp)
                merged += 1
            case .error:
                repeats.add(row)
            }
            current = c
        }
        if let c = current { try write(c) }
        for b in batch {
            bind(insertRating, 0, b.row, b.merged)
            try step(insertRating)
        }
        if repeats.total > 0 { try reportDuplicates(repeats) }
    }

    /// The repeated pairs seen under `--duplicates error`: their number and the earliest few.
    struct DuplicateLog {
        let keep: Int
        private(set) var total = 0
        private(set) var earliest: [StagedRating] = []
        init(keep: Int) { self.keep = max(1, keep) }
        mutating func add(_ r: StagedRating) {
            total += 1
            guard earliest.count < keep || r.sequence < earliest[earliest.count - 1].sequence else { return }
            let at = earliest.firstIndex { $0.sequence > r.sequence } ?? earliest.count
            earliest.insert(r, at: at)
            if earliest.count > keep { earliest.removeLast() }
        }
    }

    /// Error path only: reports repeated pairs, in file order, as issues (throws under `fail`).
    private func reportDuplicates(_ log: DuplicateLog) throws {
        for r in log.earliest {
            try issue(ImportIssue(.duplicateRating, file: files[Int(r.file)], line: Int(r.line), field: "user/item",
                                  value: "user \(externalID(user: r.user)) item \(externalID(item: r.item))",
                                  expected: "each (user, item) pair rated once (or --duplicates last|mean)"))
        }
        // Under skip, the repeats beyond the examples are counted without a message each.
        report.skipped[ImportIssueKind.duplicateRating.rawValue, default: 0] += log.total - log.earliest.count
        report.ratingRowsAccepted -= log.total
    }

    private func externalID(user: Int64) -> String { userIDs.key(forValue: user) ?? String(user) }
    private func externalID(item: Int64) -> String { itemIDs.key(forValue: item) ?? String(item) }

    // MARK: Finishing

    /// The scale to store: declared, or the observed range with the scale-aware threshold.
    func finalScale() -> RatingScale {
        var s = scale ?? (observedMin <= observedMax
            ? RatingScale(min: observedMin, max: observedMax) : RatingScale(min: 1, max: 5))
        if let t = options.likeThreshold { s.likeThreshold = t }
        return s
    }

    // MARK: SQLite plumbing

    @inline(__always)
    private func bindText(_ stmt: OpaquePointer?, _ index: Int32, _ text: String) {
        var t = text
        t.withUTF8 { buf in
            // SQLITE_TRANSIENT: SQLite copies the bytes, so the buffer need not outlive the call.
            buf.withMemoryRebound(to: CChar.self) { c in
                _ = sqlite3_bind_text(stmt, index, c.baseAddress ?? UnsafePointer(bitPattern: 1), Int32(c.count), DatasetWriter.transient)
            }
        }
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func step(_ stmt: OpaquePointer?) throws {
        let rc = sqlite3_step(stmt)
        sqlite3_reset(stmt)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
