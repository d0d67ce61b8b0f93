import Foundation
import GRDB

/// Errors about the store's contents (as opposed to malformed input files).
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case datasetExists(String)
    case noSuchDataset(String, available: [String])
    case noSuchSplit(dataset: String, split: String, available: [String])
    case splitExists(dataset: String, split: String)
    case invalidArgument(String)
    /// The store at `path` cannot be opened (missing, not a database, read-only where a command
    /// writes, damaged); `reason` says why and what to do.
    case cannotOpen(path: String, reason: String)
    /// A read-only open met a store whose `layer` tables need migrations it may not apply.
    case needsUpgrade(path: String, layer: String, pending: [String])
    /// A reading command met a store it may not write that lacks something it would have to
    /// store (`needs` says what).
    case readOnly(path: String, needs: String)
    /// Another process held the write lock longer than the wait allows.
    case busy(path: String, detail: String)

    public var description: String {
        switch self {
        case .datasetExists(let n):
            return "dataset '\(n)' already exists in this database; pass --replace to import it again"
        case let .noSuchDataset(n, available):
            return "no dataset named '\(n)'; available: \(available.isEmpty ? "(none — import one with `rec-data import` or `rec-data synth`)" : available.joined(separator: ", "))"
        case let .noSuchSplit(d, s, available):
            return "dataset '\(d)' has no split named '\(s)'; available: \(available.isEmpty ? "(none — create one with `rec-data split`)" : available.joined(separator: ", "))"
        case let .splitExists(d, s):
            return "dataset '\(d)' already has a split named '\(s)'; pass --replace to recompute it"
        case .invalidArgument(let m): return m
        case let .cannotOpen(path, reason):
            return "cannot open the store \(path): \(reason)"
        case let .needsUpgrade(path, layer, pending):
            return "the store \(path) needs an upgrade of its \(layer) tables (pending: \(pending.joined(separator: ", "))) and reading commands never change a store; run `rec-data upgrade --db \(path)` on a writable copy, then this command again"
        case let .readOnly(path, needs):
            return "the store \(path) cannot be written, but \(needs); run this command once on a writable copy of the store (it caches what it computes; `rec-data embed` caches the item texts), then the read-only copy has everything"
        case let .busy(path, detail):
            return "the store \(path) stayed locked by another process that is writing to it (an import, split, rationales or embed on the same --db) (\(detail)); wait for that command to finish and run this one again, or raise $REC_BUSY_TIMEOUT (seconds, default 600)"
        }
    }
}

/// The SQLite ratings store: datasets, users, items, ratings and named splits, in one file.
///
/// The database runs in WAL mode so readers (reports, training) never block a writer (an import
/// or rationale generation). Every import, split and generation step is one transaction: an
/// interrupted run leaves the database exactly as it was before that step. Docs/guarantees.md
/// states what the store promises on kill, concurrent use and read-only use.
public final class RatingStore: Sendable {
    public let path: String
    /// Whether the store was opened read-only: nothing is migrated and nothing is written.
    public let isReadOnly: Bool
    /// The underlying GRDB pool, for layers above that add their own tables.
    public let pool: DatabasePool

    /// Opens the store at `path`.
    ///
    /// Writable (the default): creates the file if needed and applies the ratings layer's pending
    /// migrations (race-free against other processes, ``StoreMigrations``). Read-only: never
    /// creates, migrates or writes — a store that needs migrations is refused with
    /// ``StoreError/needsUpgrade(path:layer:pending:)``, and a store in a folder nobody can write
    /// is opened `immutable` (a WAL database otherwise needs its `-shm` file, which cannot be
    /// created there; with the folder unwritable no process can be writing it). Opening errors
    /// name the path and what to do (``StoreError/cannotOpen(path:reason:)``).
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.isReadOnly = readOnly
        let fm = FileManager.default
        if readOnly && !fm.fileExists(atPath: path) {
            throw StoreError.cannotOpen(path: path, reason: "no such file; create a store with `rec-data synth` or `rec-data import`, or check --db / $REC_DB")
        }
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.readonly = readOnly
        config.busyMode = RatingStore.waitingBusyMode(path: path)
        config.prepareDatabase { db in
            // synchronous only matters to writers; temp_store is per connection and writes no file.
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")
        }
        if !readOnly && RatingStore.markedReadOnly(path) {
            throw StoreError.cannotOpen(path: path, reason: "this command writes to the store but the file or its folder is marked read-only (no write permission); run it on a writable copy, or use a reading command (list, stats, export, rationales-show, validate-rewards, rec-train)")
        }
        let openPath = readOnly && RatingStore.folderIsReadOnly(path) ? RatingStore.immutableURI(path) : path
        do {
            pool = try DatabasePool(path: openPath, configuration: config)
            if readOnly {
                let pending = try pool.read { db in try Schema.migrations.pending(db) }
                if pending.count == Schema.migrations.steps.count {
                    throw StoreError.cannotOpen(path: path, reason: "the file holds no ratings store (no tables); create one with `rec-data synth` or `rec-data import`, or check --db")
                }
                if !pending.isEmpty { throw StoreError.needsUpgrade(path: path, layer: "ratings", pending: pending) }
            } else {
                try Schema.migrations.apply(to: pool)
            }
        } catch let e as DatabaseError {
            if openPath != path && e.resultCode == .SQLITE_CANTOPEN {
                throw StoreError.cannotOpen(path: path, reason: "its folder is read-only, so it is opened as an immutable file, which needs an SQLite built with URI filenames (SQLITE_USE_URI); this one was not (\(e.resultCode)); copy the store to a writable folder")
            }
            throw RatingStore.openingError(e, path: path, readOnly: readOnly)
        }
    }

    /// Copies the WAL's committed pages into the database file and empties the WAL (best effort:
    /// a busy checkpoint is left to SQLite's automatic ones). A side writer opened next to a
    /// read-only store calls it: the read-only connection closes last and cannot checkpoint, so
    /// without it the new rows would stay in `-wal` and a copy of the file alone would lack them.
    public func checkpoint() {
        guard !isReadOnly else { return }
        try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }

    /// Applies a higher layer's migrations to this store, or, read-only, checks that none is
    /// pending (``StoreError/needsUpgrade(path:layer:pending:)`` otherwise). Returns the pending
    /// identifiers a read-only store has (all of them when the layer's tables were never created).
    @discardableResult
    public func migrate(_ migrations: StoreMigrations) throws -> [String] {
        do {
            if isReadOnly { return try pool.read { db in try migrations.pending(db) } }
            try migrations.apply(to: pool)
            return []
        } catch let e as DatabaseError {
            throw RatingStore.openingError(e, path: path, readOnly: isReadOnly)
        }
    }

    /// The ratings layer's migrations only (`v1-ratings`, `v2-rating-key`, ...). Higher layers keep
    /// their own migrations and apply them through ``migrate(_:)`` when they open their tables on
    /// this pool (the embedding cache, the rationale store), so this layer never needs to know
    /// about them; a tool brings up to date exactly the tables it uses.
    static var migrator: DatabaseMigrator { Schema.migrator }

    // MARK: Opening support

    /// Whether the folder holding `path` cannot be written (so no `-wal`/`-shm`/`-journal` can be
    /// created there, by us or by anyone) and no WAL is left over that an immutable open would miss.
    /// A folder without any write permission bit counts as read-only even for root (whom
    /// `access(2)` lets write anywhere): the owner marked it so, and files appearing in it would
    /// break that promise.
    static func folderIsReadOnly(_ path: String) -> Bool {
        let dir = (path as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir
        let fm = FileManager.default
        let permissions = ((try? fm.attributesOfItem(atPath: folder))?[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        let readOnly = !fm.isWritableFile(atPath: folder) || permissions & 0o222 == 0
        return readOnly && !hasContent(path + "-wal") && !hasContent(path + "-journal")
    }

    static func hasContent(_ path: String) -> Bool {
        (((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0) > 0
    }

    /// Whether the file at `path` (if it exists) or its folder has no write permission bit: the
    /// owner marked the store read-only, and a writable open refuses it even where the process
    /// could write anyway (root ignores permission bits).
    static func markedReadOnly(_ path: String) -> Bool {
        let fm = FileManager.default
        func noWriteBits(_ p: String) -> Bool {
            guard let mode = (try? fm.attributesOfItem(atPath: p))?[.posixPermissions] as? NSNumber else { return false }
            return mode.intValue & 0o222 == 0
        }
        let dir = (path as NSString).deletingLastPathComponent
        return noWriteBits(path) || noWriteBits(dir.isEmpty ? "." : dir)
    }

    /// `file:` URI of `path` with `immutable=1` (SQLite then takes no locks and needs no -shm).
    static func immutableURI(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var escaped = ""
        for ch in absolute.unicodeScalars {
            switch ch {
            case "%", "?", "#": escaped += String(format: "%%%02X", ch.value)
            default: escaped.unicodeScalars.append(ch)
            }
        }
        return "file:" + escaped + "?immutable=1"
    }

    /// Waits for another process's write transaction instead of failing after a fixed 30 s (an
    /// import holds the write lock for its whole length): retries every 20 ms, says on stderr after
    /// 2 s and then every 10 s what it waits for, and gives up after `$REC_BUSY_TIMEOUT` seconds (default 600), when
    /// the caller gets SQLite's "database is locked" (the tools explain it, `describeStoreError`).
    static func waitingBusyMode(path: String) -> Database.BusyMode {
        let limit = Double(ProcessInfo.processInfo.environment["REC_BUSY_TIMEOUT"] ?? "") ?? 600
        return .callback { tries in
            let waited = Double(tries) * 0.02
            if waited >= limit { return false }
            if tries == 100 || (tries > 0 && tries % 500 == 0) {
                FileHandle.standardError.write(Data("waiting for another process that is writing to \(path) (\(Int(waited)) s so far; giving up after \(Int(limit)) s, set by $REC_BUSY_TIMEOUT)\n".utf8))
            }
            Thread.sleep(forTimeInterval: 0.02)
            return true
        }
    }

    /// An opening error with the path and what to do.
    static func openingError(_ e: DatabaseError, path: String, readOnly: Bool) -> StoreError {
        let code = "SQLite error \(e.resultCode.rawValue): \(e.message ?? "\(e.resultCode)")"
        switch e.resultCode {
        case .SQLITE_NOTADB:
            return .cannotOpen(path: path, reason: "it is not an SQLite database (\(code)); check --db, or move the file away to start a new store there")
        case .SQLITE_CANTOPEN:
            let dir = (path as NSString).deletingLastPathComponent
            return .cannotOpen(path: path, reason: readOnly
                ? "SQLite cannot open the file (\(code)); check that it exists and is readable; a store left in WAL mode by a killed writer also needs its -wal and -shm files beside it"
                : "SQLite cannot open or create the file (\(code)); check --db and that the folder \(dir.isEmpty ? "." : dir) exists and is writable (SQLite creates -wal and -shm files beside the store)")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
            return .cannotOpen(path: path, reason: "this command writes to the store but the file or its folder is read-only (\(code)); run it on a writable copy, or use a reading command (list, stats, export, rationales-show, validate-rewards, rec-train)")
        case .SQLITE_CORRUPT:
            return .cannotOpen(path: path, reason: "the file is damaged (\(code)); restore it from a copy or rebuild it with `rec-data import`")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .cannotOpen(path: path, reason: "another process kept the store locked for longer than $REC_BUSY_TIMEOUT allows (\(code)); wait for it to finish and run the command again")
        default:
            return .cannotOpen(path: path, reason: code)
        }
    }

    /// A clear message for an SQLite error met while using the store at `path` (the tools' error
    /// path calls it); other errors pass through unchanged.
    public static func describe(_ error: any Error, path: String) -> any Error {
        guard let e = error as? DatabaseError else { return error }
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError.busy(path: path, detail: "SQLite error \(e.resultCode.rawValue): \(e.message ?? "database is locked")")
        case .SQLITE_READONLY, .SQLITE_NOTADB, .SQLITE_CANTOPEN, .SQLITE_CORRUPT, .SQLITE_PERM:
            return openingError(e, path: path, readOnly: false)
        default:
            return error
        }
    }

    // MARK: Datasets

    /// All datasets, by name.
    public func datasets() throws -> [DatasetInfo] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM dataset ORDER BY name").map(RatingStore.dataset) }
    }

    /// The dataset with this name, or an error listing those that exist.
    public func dataset(named name: String) throws -> DatasetInfo {
        try pool.read { db in try RatingStore.dataset(named: name, db) }
    }

    static func dataset(named name: String, _ db: Database) throws -> DatasetInfo {
        if let row = try Row.fetchOne(db, sql: "SELECT * FROM dataset WHERE name = ?", arguments: [name]) {
            return dataset(row)
        }
        let names = try String.fetchAll(db, sql: "SELECT name FROM dataset ORDER BY name")
        throw StoreError.noSuchDataset(name, available: names)
    }

    static func dataset(_ row: Row) -> DatasetInfo {
        DatasetInfo(id: row["id"], name: row["name"], format: row["format"], source: row["source"],
                    scale: RatingScale(min: row["scale_min"], max: row["scale_max"], likeThreshold: row["like_threshold"]),
                    itemTextTemplate: row["item_text_template"], createdAt: row["created_at"])
    }

    /// Deletes a dataset and everything that belongs to it.
    public func deleteDataset(named name: String) throws {
        try pool.write { db in
            let d = try RatingStore.dataset(named: name, db)
            try db.execute(sql: "DELETE FROM dataset WHERE id = ?", arguments: [d.id])
        }
    }

    /// Changes the like threshold of a dataset (it is evaluated on training ratings at use time).
    public func setLikeThreshold(_ value: Double, dataset name: String) throws {
        try pool.write { db in
            let d = try RatingStore.dataset(named: name, db)
            guard d.scale.contains(value) else {
                throw StoreError.invalidArgument("like threshold \(value) is outside the rating scale \(d.scale)")
            }
            try db.execute(sql: "UPDATE dataset SET like_threshold = ? WHERE id = ?", arguments: [value, d.id])
        }
    }

    // MARK: Reading

    /// Items of a dataset in id order.
    public func items(dataset: DatasetInfo) throws -> [StoredItem] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM item WHERE dataset_id = ? ORDER BY id", arguments: [dataset.id]).map { row in
                var f = ItemFields(externalID: row["external_id"], title: row["title"], description: row["description"])
                f.genres = RatingStore.splitList(row["genres"])
                f.categories = RatingStore.splitList(row["categories"])
                f.year = row["year"]
                f.price = row["price"]
                f.attributes = RatingStore.decodeAttributes(row["attributes"])
                return StoredItem(id: row["id"], fields: f, text: row["text"])
            }
        }
    }

    /// Ratings of a dataset, optionally restricted to one part of a split, ordered by user then time.
    public func ratings(dataset: DatasetInfo, split: String? = nil, part: SplitPart? = nil) throws -> [StoredRating] {
        try pool.read { db in
            var sql = "SELECT r.user_id, r.item_id, r.value, r.timestamp FROM rating r"
            var args: [any DatabaseValueConvertible] = []
            if let split {
                let sid = try RatingStore.splitID(dataset: dataset, name: split, db)
                sql += " JOIN split_assignment a ON a.split_id = ? AND a.user_id = r.user_id AND a.item_id = r.item_id"
                args.append(sid)
                if let part { sql += " AND a.part = ?"; args.append(part.rawValue) }
            }
            sql += " WHERE r.dataset_id = ? ORDER BY r.user_id, r.timestamp, r.item_id"
            args.append(dataset.id)
            var out: [StoredRating] = []
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
            while let row = try cursor.next() {
                out.append(StoredRating(userID: row[0], itemID: row[1], value: row[2], timestamp: row[3]))
            }
            return out
        }
    }

    /// Names of the splits of a dataset.
    public func splits(dataset: DatasetInfo) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM split WHERE dataset_id = ? ORDER BY name", arguments: [dataset.id])
        }
    }

    static func splitID(dataset: DatasetInfo, name: String, _ db: Database) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM split WHERE dataset_id = ? AND name = ?", arguments: [dataset.id, name]) {
            return id
        }
        let names = try String.fetchAll(db, sql: "SELECT name FROM split WHERE dataset_id = ? ORDER BY name", arguments: [dataset.id])
        throw StoreError.noSuchSplit(dataset: dataset.name, split: name, available: names)
    }

    /// External ids and stored preference statements of a dataset's users, by internal id.
    public func users(dataset: DatasetInfo) throws -> [(id: Int64, externalID: String, preference: String?)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, external_id, preference_statement FROM user WHERE dataset_id = ? ORDER BY id",
                             arguments: [dataset.id]).map { ($0[0], $0[1], $0[2]) }
        }
    }

    // MARK: Encoding helpers

    /// Lists are stored joined by a unit separator so any text (commas included) survives.
    static let listSeparator = "\u{1F}"
    static func joinList(_ l: [String]) -> String { l.joined(separator: listSeparator) }
    static func splitList(_ s: String) -> [String] {
        s.isEmpty ? [] : s.components(separatedBy: listSeparator)
    }

    static func encodeAttributes(_ a: [String: String]) -> String {
        if a.isEmpty { return "{}" }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(a)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decodeAttributes(_ s: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(s.utf8))) ?? [:]
    }

    static func timestampNow() -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date())
    }
}
