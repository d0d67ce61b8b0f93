import Foundation
import GRDB

/// A store's contents in a form two stores can be compared by: every table as sorted lines, keyed
/// by what identifies a row to a user (dataset names, external ids, run identities) rather than
/// by internal ids or timestamps, which depend on the order writers happened to commit in.
///
/// Embedding vectors are compared by key and byte length only: the encoder batches whichever
/// texts are missing, and a different batch gives different last bits of the same vector.
enum StoreDump {
    static let queries: [(table: String, sql: String)] = [
        ("grdb_migrations", "SELECT identifier FROM grdb_migrations"),
        ("dataset", "SELECT name, format, scale_min, scale_max, like_threshold, item_text_template FROM dataset"),
        ("user", "SELECT d.name, u.external_id, u.attributes, u.preference_statement FROM user u JOIN dataset d ON d.id = u.dataset_id"),
        ("item", """
            SELECT d.name, i.external_id, i.title, i.description, i.genres, i.categories, i.year, i.price, i.attributes, i.text
            FROM item i JOIN dataset d ON d.id = i.dataset_id
            """),
        ("rating", """
            SELECT d.name, u.external_id, i.external_id, r.value, r.timestamp, r.merged FROM rating r
            JOIN dataset d ON d.id = r.dataset_id JOIN user u ON u.id = r.user_id JOIN item i ON i.id = r.item_id
            """),
        ("split", "SELECT d.name, s.name, s.method, s.parameters, s.seed FROM split s JOIN dataset d ON d.id = s.dataset_id"),
        ("split_assignment", """
            SELECT d.name, s.name, u.external_id, i.external_id, a.part FROM split_assignment a
            JOIN split s ON s.id = a.split_id JOIN dataset d ON d.id = s.dataset_id
            JOIN user u ON u.id = a.user_id JOIN item i ON i.id = a.item_id
            """),
        ("rationale_run", """
            SELECT d.name, r.split, r.reasoner, r.model, r.prompt_hash, r.mode, r.k, r.config FROM rationale_run r
            JOIN dataset d ON d.id = r.dataset_id
            """),
        ("rationale_user", """
            SELECT d.name, r.split, r.reasoner, u.external_id, x.count, x.prompt_tokens, x.completion_tokens, x.requests
            FROM rationale_user x JOIN rationale_run r ON r.id = x.run_id JOIN dataset d ON d.id = r.dataset_id
            JOIN user u ON u.id = x.user_id
            """),
        ("rationale", """
            SELECT d.name, r.split, r.reasoner, u.external_id, x.idx, x.text
            FROM rationale x JOIN rationale_run r ON r.id = x.run_id JOIN dataset d ON d.id = r.dataset_id
            JOIN user u ON u.id = x.user_id
            """),
        ("embedding_model", "SELECT model_id, dimension, description FROM embedding_model"),
        ("embedding", "SELECT model_id, hex(text_hash), length(vector) FROM embedding"),
        ("token_embedding", "SELECT model_id, hex(text_hash), rows, length(vector) FROM token_embedding"),
    ]

    /// Table name → its rows as sorted lines; tables the store does not have are left out.
    static func dump(_ path: String) throws -> [String: [String]] {
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        return try queue.read { db in
            var out: [String: [String]] = [:]
            for (table, sql) in queries where try db.tableExists(table) {
                out[table] = try Row.fetchAll(db, sql: sql).map { row in
                    row.databaseValues.map { $0.description }.joined(separator: "|")
                }.sorted()
            }
            return out
        }
    }

    /// The tables whose contents differ, with a few differing lines each (for a test's message).
    static func differences(_ a: [String: [String]], _ b: [String: [String]]) -> String {
        var out: [String] = []
        for table in Set(a.keys).union(b.keys).sorted() where a[table] != b[table] {
            let x = Set(a[table] ?? []), y = Set(b[table] ?? [])
            out.append("\(table): \(a[table]?.count ?? -1) vs \(b[table]?.count ?? -1) rows; only in first: \(Array(x.subtracting(y).sorted().prefix(3))); only in second: \(Array(y.subtracting(x).sorted().prefix(3)))")
        }
        return out.joined(separator: "\n")
    }
}

/// Running many tool processes at once, and killing one.
extension CLI {
    /// Runs every command at once (one thread per process, so none waits for a free core to
    /// start) and returns the results in input order.
    static func runConcurrently(_ commands: [(tool: String, args: [String])], environment: [String: String] = [:]) -> [Result] {
        let lock = NSLock()
        nonisolated(unsafe) var results = [Result?](repeating: nil, count: commands.count)
        let group = DispatchGroup()
        for (i, c) in commands.enumerated() {
            group.enter()
            let thread = Thread {
                let r = (try? CLI.run(c.tool, c.args, environment: environment))
                    ?? Result(status: -1, stdout: "", stderr: "could not start \(c.tool)")
                lock.withLock { results[i] = r }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        return results.map { $0! }
    }

    /// Starts a tool without waiting for it; its output goes nowhere (the caller kills it).
    static func start(_ tool: String, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path(tool))
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["REC_NO_PROGRESS"] = "1"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Whether stderr of a failed run is a clear message: an `error:` line that names the store
    /// rather than SQLite's bare "SQLite error N" text.
    static func failedClearly(_ r: Result, store: String) -> Bool {
        r.status != 0 && r.stderr.contains("error:") && (!r.stderr.contains("SQLite error") || r.stderr.contains(store))
    }
}

