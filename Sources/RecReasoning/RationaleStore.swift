import Foundation
import GRDB
import RecData
import RecKit

/// A generation run: one reasoner identity applied to one split of one dataset.
public struct RationaleRun: Sendable, Hashable, Codable, CustomStringConvertible {
    public var id: Int64
    public var dataset: String
    public var split: String
    public var reasoner: String
    public var model: String
    public var promptHash: String
    public var mode: ReasoningMode
    public var k: Int
    /// The reasoner's settings as JSON (never secrets).
    public var configJSON: String
    public var createdAt: String

    public var description: String {
        "run \(id): \(dataset)/\(split) \(reasoner) model \(model) mode \(mode) k \(k) prompt \(promptHash.prefix(12)) (\(createdAt))"
    }
}

/// What identifies a run: generating again with the same identity resumes it.
public struct RunIdentity: Sendable, Hashable {
    public var dataset: String
    public var split: String
    public var reasoner: String
    public var model: String
    public var promptHash: String
    public var mode: ReasoningMode
    public var k: Int
    public init(dataset: String, split: String, reasoner: String, model: String, promptHash: String, mode: ReasoningMode, k: Int) {
        self.dataset = dataset; self.split = split; self.reasoner = reasoner; self.model = model
        self.promptHash = promptHash; self.mode = mode; self.k = k
    }
    public init(dataset: String, split: String, reasoner: any Reasoner) {
        self.init(dataset: dataset, split: split, reasoner: reasoner.id, model: reasoner.model, promptHash: reasoner.promptHash,
                  mode: reasoner.mode, k: reasoner.k)
    }
}

/// A user's stored rationales in a run.
public struct StoredRationales: Sendable, Hashable {
    public var userID: Int64
    public var externalID: String
    public var texts: [String]
    public var usage: TokenUsage
    public var createdAt: String
}

/// Rationales in the ratings database, beside the data they were derived from.
///
/// Tables (created by this layer's own migrator, identifiers prefixed `reasoning-`):
/// `rationale_run` (one row per run identity, unique), `rationale_user` (one row per user done
/// in a run: the resume marker, with token usage — a user whose reasoner returned nothing is done
/// too) and `rationale` (one row per text, unique per run, user and index). A run references its
/// split, so recomputing a split (`rec-data split --replace`) deletes rationales drawn from the
/// old one.
public final class RationaleStore: Sendable {
    public let store: RatingStore

    /// Opens the rationale tables in `store`, creating them if needed (race-free against other
    /// processes, `StoreMigrations`). On a read-only store nothing is created: a store without
    /// the tables has no rationales (`ReasoningError.noRun` says how to generate them), and one
    /// with older tables is refused with `StoreError.needsUpgrade`.
    public init(store: RatingStore) throws {
        self.store = store
        let pending = try store.migrate(RationaleStore.migrations)
        if pending.count == RationaleStore.migrations.steps.count {
            throw ReasoningError.noRun("the store \(store.path) holds no rationales yet; generate them with `rec-data rationales`")
        }
        if !pending.isEmpty { throw StoreError.needsUpgrade(path: store.path, layer: "reasoning", pending: pending) }
    }

    static let migrations = StoreMigrations(layer: "reasoning", steps: [
        ("reasoning-v1", { db in
            try db.execute(sql: """
                CREATE TABLE rationale_run (
                    id INTEGER PRIMARY KEY,
                    dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
                    split_id INTEGER NOT NULL REFERENCES split(id) ON DELETE CASCADE,
                    split TEXT NOT NULL,
                    reasoner TEXT NOT NULL,
                    model TEXT NOT NULL,
                    prompt_hash TEXT NOT NULL,
                    mode TEXT NOT NULL,
                    k INTEGER NOT NULL,
                    config TEXT NOT NULL DEFAULT '{}',
                    created_at TEXT NOT NULL,
                    UNIQUE (dataset_id, split_id, reasoner, model, prompt_hash, mode, k)
                );
                CREATE TABLE rationale_user (
                    run_id INTEGER NOT NULL REFERENCES rationale_run(id) ON DELETE CASCADE,
                    user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    count INTEGER NOT NULL,
                    prompt_tokens INTEGER NOT NULL DEFAULT 0,
                    completion_tokens INTEGER NOT NULL DEFAULT 0,
                    requests INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (run_id, user_id)
                ) WITHOUT ROWID;
                CREATE TABLE rationale (
                    id INTEGER PRIMARY KEY,
                    run_id INTEGER NOT NULL,
                    user_id INTEGER NOT NULL,
                    idx INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    UNIQUE (run_id, user_id, idx),
                    FOREIGN KEY (run_id, user_id) REFERENCES rationale_user(run_id, user_id) ON DELETE CASCADE
                );
                """)
        }),
    ])

    // MARK: Runs

    /// The run with this identity, created (with `config`) if it does not exist yet.
    public func openRun(_ identity: RunIdentity, config: [String: String]) throws -> RationaleRun {
        try store.pool.write { db in
            let d = try Self.datasetRow(identity.dataset, db)
            let splitID = try Self.splitID(dataset: d, name: identity.split, db)
            let find = """
                SELECT id FROM rationale_run WHERE dataset_id = ? AND split_id = ? AND reasoner = ? AND model = ?
                AND prompt_hash = ? AND mode = ? AND k = ?
                """
            let args: StatementArguments = [d.id, splitID, identity.reasoner, identity.model, identity.promptHash, identity.mode.rawValue, identity.k]
            if let id = try Int64.fetchOne(db, sql: find, arguments: args) { return try Self.run(id: id, db)! }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let json = String(decoding: try enc.encode(config), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO rationale_run(dataset_id, split_id, split, reasoner, model, prompt_hash, mode, k, config, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [d.id, splitID, identity.split, identity.reasoner, identity.model, identity.promptHash,
                                 identity.mode.rawValue, identity.k, json, Self.now()])
            return try Self.run(id: db.lastInsertedRowID, db)!
        }
    }

    /// Runs of a dataset (optionally one split / one reasoner), newest first.
    public func runs(dataset: String, split: String? = nil, reasoner: String? = nil) throws -> [RationaleRun] {
        try store.pool.read { db in
            let d = try Self.datasetRow(dataset, db)
            var sql = "SELECT r.id FROM rationale_run r WHERE r.dataset_id = ?"
            var args: [any DatabaseValueConvertible] = [d.id]
            if let split { sql += " AND r.split = ?"; args.append(split) }
            if let reasoner { sql += " AND r.reasoner = ?"; args.append(reasoner) }
            sql += " ORDER BY r.created_at DESC, r.id DESC"
            return try Int64.fetchAll(db, sql: sql, arguments: StatementArguments(args)).compactMap { try Self.run(id: $0, db) }
        }
    }

    /// A run by id.
    public func run(id: Int64) throws -> RationaleRun {
        guard let r = try store.pool.read({ db in try Self.run(id: id, db) }) else { throw ReasoningError.noRun("no rationale run with id \(id)") }
        return r
    }

    /// The latest run of `reasoner` ("aspect", "openai", "imported:NAME"…) on a split.
    public func latestRun(dataset: String, split: String, reasoner: String? = nil) throws -> RationaleRun {
        if let r = try runs(dataset: dataset, split: split, reasoner: reasoner).first { return r }
        let all = try runs(dataset: dataset, split: split).map(\.reasoner)
        throw ReasoningError.noRun("no rationale run for dataset '\(dataset)', split '\(split)'\(reasoner.map { ", reasoner '\($0)'" } ?? ""); available reasoners: \(all.isEmpty ? "(none — generate with `rec-data rationales`)" : Array(Set(all)).sorted().joined(separator: ", "))")
    }

    /// Users already done in a run.
    public func completedUsers(run: Int64) throws -> Set<Int64> {
        try store.pool.read { db in Set(try Int64.fetchAll(db, sql: "SELECT user_id FROM rationale_user WHERE run_id = ?", arguments: [run])) }
    }

    // MARK: Writing

    /// Stores one user's rationales in one transaction and returns true, or returns false and
    /// writes nothing when the user is already done in the run — another process generating the
    /// same run got there first (two `rec-data rationales` for one run share the work instead of
    /// dying on the unique key; the first answer stored wins).
    @discardableResult
    public func save(run: Int64, userID: Int64, texts: [String], usage: TokenUsage = .zero, requests: Int = 0) throws -> Bool {
        try store.pool.write { db in try Self.save(run: run, userID: userID, texts: texts, usage: usage, requests: requests, db, skipDone: true) }
    }

    /// `skipDone` false (imports, all or nothing): a user already done is an error.
    @discardableResult
    static func save(run: Int64, userID: Int64, texts: [String], usage: TokenUsage, requests: Int, _ db: Database,
                     skipDone: Bool = false) throws -> Bool {
        let now = Self.now()
        try db.execute(sql: """
            INSERT \(skipDone ? "OR IGNORE " : "")INTO rationale_user(run_id, user_id, count, prompt_tokens, completion_tokens, requests, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [run, userID, texts.count, usage.promptTokens, usage.completionTokens, requests, now])
        if db.changesCount == 0 { return false }
        let insert = try db.makeStatement(sql: "INSERT INTO rationale(run_id, user_id, idx, text, created_at) VALUES (?, ?, ?, ?, ?)")
        for (i, t) in texts.enumerated() { try insert.execute(arguments: [run, userID, i, t, now]) }
        return true
    }

    /// Stores many users in one transaction (imports: all or nothing).
    public func saveAll(run: Int64, _ rows: [(userID: Int64, texts: [String])]) throws {
        try store.pool.write { db in
            for r in rows { try Self.save(run: run, userID: r.userID, texts: r.texts, usage: .zero, requests: 0, db) }
        }
    }

    /// Deletes a run and its rationales.
    public func deleteRun(id: Int64) throws {
        try store.pool.write { db in try db.execute(sql: "DELETE FROM rationale_run WHERE id = ?", arguments: [id]) }
    }

    // MARK: Reading (the API later layers use)

    /// Each user's rationales, by internal user id, from the latest matching run.
    public func rationales(dataset: String, split: String, reasoner: String) throws -> [Int64: [String]] {
        try rationales(runID: try latestRun(dataset: dataset, split: split, reasoner: reasoner).id)
    }

    /// Each user's rationales in a run, by internal user id (users done with no rationales map to []).
    public func rationales(runID: Int64) throws -> [Int64: [String]] {
        try store.pool.read { db in
            var out: [Int64: [String]] = [:]
            for u in try Int64.fetchAll(db, sql: "SELECT user_id FROM rationale_user WHERE run_id = ?", arguments: [runID]) { out[u] = [] }
            let cursor = try Row.fetchCursor(db, sql: "SELECT user_id, text FROM rationale WHERE run_id = ? ORDER BY user_id, idx", arguments: [runID])
            while let row = try cursor.next() { out[row[0], default: []].append(row[1]) }
            return out
        }
    }

    /// Stored rationales with external ids and usage, optionally for one external user id.
    public func records(runID: Int64, externalUser: String? = nil, limit: Int? = nil) throws -> [StoredRationales] {
        try store.pool.read { db in
            var sql = """
                SELECT ru.user_id, u.external_id, ru.prompt_tokens, ru.completion_tokens, ru.created_at
                FROM rationale_user ru JOIN user u ON u.id = ru.user_id WHERE ru.run_id = ?
                """
            var args: [any DatabaseValueConvertible] = [runID]
            if let externalUser { sql += " AND u.external_id = ?"; args.append(externalUser) }
            sql += " ORDER BY ru.user_id"
            if let limit { sql += " LIMIT ?"; args.append(limit) }
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args))
            return try rows.map { row in
                let uid: Int64 = row[0]
                let texts = try String.fetchAll(db, sql: "SELECT text FROM rationale WHERE run_id = ? AND user_id = ? ORDER BY idx", arguments: [runID, uid])
                return StoredRationales(userID: uid, externalID: row[1], texts: texts,
                                        usage: TokenUsage(promptTokens: row[2], completionTokens: row[3]), createdAt: row[4])
            }
        }
    }

    /// Total token usage and user count of a run.
    public func summary(runID: Int64) throws -> (users: Int, rationales: Int, usage: TokenUsage) {
        try store.pool.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(count), 0), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0)
                FROM rationale_user WHERE run_id = ?
                """, arguments: [runID])!
            return (row[0], row[1], TokenUsage(promptTokens: row[2], completionTokens: row[3]))
        }
    }

    // MARK: Helpers

    static func run(id: Int64, _ db: Database) throws -> RationaleRun? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT r.*, d.name AS dataset_name FROM rationale_run r JOIN dataset d ON d.id = r.dataset_id WHERE r.id = ?
            """, arguments: [id]) else { return nil }
        return RationaleRun(id: row["id"], dataset: row["dataset_name"], split: row["split"], reasoner: row["reasoner"],
                            model: row["model"], promptHash: row["prompt_hash"],
                            mode: ReasoningMode(rawValue: row["mode"]) ?? .open, k: row["k"], configJSON: row["config"],
                            createdAt: row["created_at"])
    }

    static func datasetRow(_ name: String, _ db: Database) throws -> (id: Int64, name: String) {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM dataset WHERE name = ?", arguments: [name]) { return (id, name) }
        let names = try String.fetchAll(db, sql: "SELECT name FROM dataset ORDER BY name")
        throw StoreError.noSuchDataset(name, available: names)
    }

    static func splitID(dataset: (id: Int64, name: String), name: String, _ db: Database) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM split WHERE dataset_id = ? AND name = ?", arguments: [dataset.id, name]) { return id }
        let names = try String.fetchAll(db, sql: "SELECT name FROM split WHERE dataset_id = ? ORDER BY name", arguments: [dataset.id])
        throw StoreError.noSuchSplit(dataset: dataset.name, split: name, available: names)
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}
