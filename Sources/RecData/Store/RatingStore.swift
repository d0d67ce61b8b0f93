import Foundation
import GRDB

/// Errors about the store's contents (as opposed to malformed input files).
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case datasetExists(String)
    case noSuchDataset(String, available: [String])
    case noSuchSplit(dataset: String, split: String, available: [String])
    case splitExists(dataset: String, split: String)
    case invalidArgument(String)

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
        }
    }
}

/// The SQLite ratings store: datasets, users, items, ratings and named splits, in one file.
///
/// The database runs in WAL mode so readers (reports, training) never block a writer (an import
/// or rationale generation). Every import, split and generation step is one transaction: an
/// interrupted run leaves the database exactly as it was before that step.
public final class RatingStore: Sendable {
    public let path: String
    /// The underlying GRDB pool, for layers above that add their own tables.
    public let pool: DatabasePool

    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.readonly = readOnly
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")
        }
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw StoreError.invalidArgument("database \(path) does not exist")
        }
        pool = try DatabasePool(path: path, configuration: config)
        if !readOnly { try RatingStore.migrator.migrate(pool) }
    }

    /// The ratings layer's migrations only (`v1-ratings`, `v2-rating-key`, ...). Higher layers keep
    /// their own migrators and run them when they open their tables on this pool (the embedding
    /// cache, the rationale store), so this layer never needs to know about them; a tool brings
    /// up to date exactly the tables it uses.
    static var migrator: DatabaseMigrator { Schema.migrator }

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
