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

    private var userIDs: [String: Int64] = [:]
    private var itemIDs: [String: Int64] = [:]
    private var itemsWithFields = Set<Int64>()
    private var insertUser: OpaquePointer?
    private var updateUser: OpaquePointer?
    private var insertItem: OpaquePointer?
    private var updateItem: OpaquePointer?
    private var stageRating: OpaquePointer?

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
        // Ratings stream into an index-free staging table (one cheap append per row) and reach the
        // rating table in one INSERT … SELECT sorted by (user, item), so the unique index grows
        // in order instead of by random B-tree inserts. The staging table lives inside the import's
        // transaction: a failed or killed import leaves no trace of it.
        try db.execute(sql: """
            CREATE TABLE rating_staging (user_id INTEGER NOT NULL, item_id INTEGER NOT NULL, value REAL NOT NULL,
                                         timestamp INTEGER NOT NULL, line INTEGER NOT NULL, file INTEGER NOT NULL)
            """)
        stageRating = try prepare("INSERT INTO rating_staging(user_id, item_id, value, timestamp, line, file) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
    }

    deinit {
        for s in [insertUser, updateUser, insertItem, updateItem, stageRating] { sqlite3_finalize(s) }
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
        if let id = userIDs[externalID] { return id }
        return try createUser(externalID, attributes: "{}", preference: nil)
    }

    /// Stores a user's attributes (and, for synthetic worlds, the true preference statement).
    @discardableResult
    public func putUser(externalID: String, attributes: [String: String], preference: String? = nil) throws -> Int64 {
        let attrs = RatingStore.encodeAttributes(attributes)
        if let id = userIDs[externalID] {
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
        userIDs[externalID] = id
        report.users += 1
        return id
    }

    // MARK: Items

    /// The id of an item, created bare (no fields, empty text) when first seen in a ratings file.
    @inline(__always)
    public func itemID(_ externalID: String) throws -> Int64 {
        if let id = itemIDs[externalID] { return id }
        return try writeItem(ItemFields(externalID: externalID), bare: true)
    }

    /// Whether an item with this external id has been written.
    public func hasItem(_ externalID: String) -> Bool { itemIDs[externalID] != nil }

    /// Stores an item's fields and composes its text. A second `putItem` for the same external id
    /// (a repeated metadata line) replaces the fields.
    @discardableResult
    public func putItem(_ fields: ItemFields) throws -> Int64 { try writeItem(fields, bare: false) }

    private func writeItem(_ f: ItemFields, bare: Bool) throws -> Int64 {
        let existing = itemIDs[f.externalID]
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
        itemIDs[f.externalID] = id
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
        let s = stageRating
        sqlite3_bind_int64(s, 1, user)
        sqlite3_bind_int64(s, 2, item)
        sqlite3_bind_double(s, 3, value)
        sqlite3_bind_int64(s, 4, timestamp)
        sqlite3_bind_int64(s, 5, Int64(line))
        sqlite3_bind_int64(s, 6, Int64(fileIndex(file)))
        try step(s)
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

    /// Moves the staged ratings into the rating table under the duplicate policy. `last` keeps the
    /// latest timestamp (ties: the later line); `mean` averages; `error` reports each repeated pair
    /// with its file and line (under `--on-error skip` the first rating of a pair is kept).
    func flushRatings() throws {
        // The item index is rebuilt once, sorted, instead of taking one random insert per rating.
        try db.execute(sql: "DROP INDEX rating_item")
        let select = "SELECT \(datasetID), user_id, item_id, value, timestamp FROM rating_staging WHERE true"
        let insert = "INSERT INTO rating(dataset_id, user_id, item_id, value, timestamp) "
        switch options.duplicates {
        case .last:
            try db.execute(sql: insert + select + """
                 ORDER BY user_id, item_id, timestamp, rowid
                 ON CONFLICT(dataset_id, user_id, item_id) DO UPDATE SET value = excluded.value,
                 timestamp = excluded.timestamp, merged = merged + 1 WHERE excluded.timestamp >= rating.timestamp
                """)
        case .mean:
            try db.execute(sql: insert + select + """
                 ORDER BY user_id, item_id, rowid
                 ON CONFLICT(dataset_id, user_id, item_id) DO UPDATE SET
                 value = (value * merged + excluded.value) / (merged + 1), merged = merged + 1,
                 timestamp = max(timestamp, excluded.timestamp)
                """)
        case .error:
            do {
                try db.execute(sql: insert + select + " ORDER BY user_id, item_id")
            } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                try reportDuplicates()
                try db.execute(sql: "INSERT OR IGNORE INTO rating(dataset_id, user_id, item_id, value, timestamp) " + select + " ORDER BY user_id, item_id, rowid")
            }
        }
        try db.execute(sql: "DROP TABLE rating_staging")
        try db.execute(sql: "CREATE INDEX rating_item ON rating(item_id)")
    }

    /// Error path only: finds the repeated pairs, in file order, and reports them as issues.
    private func reportDuplicates() throws {
        try db.execute(sql: "CREATE INDEX rating_staging_pair ON rating_staging(user_id, item_id)")
        let repeated = """
            FROM rating_staging s WHERE s.rowid > (SELECT min(t.rowid) FROM rating_staging t
                                                   WHERE t.user_id = s.user_id AND t.item_id = s.item_id)
            """
        let rows = try Row.fetchAll(db, sql: "SELECT s.user_id, s.item_id, s.line, s.file " + repeated + " ORDER BY s.rowid LIMIT ?",
                                    arguments: [options.onError == .fail ? 1 : options.maxExamples])
        let total = options.onError == .fail ? rows.count : (try Int.fetchOne(db, sql: "SELECT count(*) " + repeated) ?? 0)
        for row in rows {
            try issue(ImportIssue(.duplicateRating, file: files[row[3] as Int], line: row[2], field: "user/item",
                                  value: "user \(externalID(user: row[0])) item \(externalID(item: row[1]))",
                                  expected: "each (user, item) pair rated once (or --duplicates last|mean)"))
        }
        // Under skip, the repeats beyond the examples are counted without a message each.
        report.skipped[ImportIssueKind.duplicateRating.rawValue, default: 0] += total - rows.count
        report.ratingRowsAccepted -= total
    }

    private func externalID(user: Int64) -> String { userIDs.first { $0.value == user }?.key ?? String(user) }
    private func externalID(item: Int64) -> String { itemIDs.first { $0.value == item }?.key ?? String(item) }

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
