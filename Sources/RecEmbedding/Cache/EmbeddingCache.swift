import Foundation
import GRDB
import RecData
import RecKit
import RecNumerics

/// Text embeddings cached in the ratings database, keyed by (model id, SHA-256 of the text).
///
/// Every layer above (rewards, distances, the agent's state) reads item and rationale embeddings
/// through this cache, so a text is encoded once per model however many commands use it. Vectors
/// are stored as little-endian Float32 blobs. Filling the cache commits after every chunk, so an
/// interrupted `rec-data embed` resumes where it stopped.
public struct EmbeddingCache: Sendable {
    public let store: RatingStore

    /// Opens the cache in `store`, creating its tables on first use.
    public init(store: RatingStore) throws {
        self.store = store
        try EmbeddingCache.migrator.migrate(store.pool)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("embedding-v1") { db in
            try db.execute(sql: """
                CREATE TABLE embedding_model (
                    model_id TEXT PRIMARY KEY,
                    dimension INTEGER NOT NULL,
                    description TEXT NOT NULL,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE embedding (
                    model_id TEXT NOT NULL REFERENCES embedding_model(model_id) ON DELETE CASCADE,
                    text_hash BLOB NOT NULL,
                    vector BLOB NOT NULL,
                    PRIMARY KEY (model_id, text_hash)
                ) WITHOUT ROWID;
                """)
        }
        m.registerMigration("embedding-v2-tokens") { db in
            // Token-level states for BERTScore/MaxSim: one blob of rows × dimension floats per text.
            try db.execute(sql: """
                CREATE TABLE token_embedding (
                    model_id TEXT NOT NULL,
                    text_hash BLOB NOT NULL,
                    rows INTEGER NOT NULL,
                    vector BLOB NOT NULL,
                    PRIMARY KEY (model_id, text_hash)
                ) WITHOUT ROWID;
                """)
        }
        return m
    }

    /// The cache key of a text: the first 16 bytes of its SHA-256 (collisions are negligible at
    /// catalog scale and halve the index size).
    public static func key(_ text: String) -> Data {
        var h = SHA256()
        h.update(text)
        return Data(h.finalize().prefix(16))
    }

    /// Cached vectors for `texts` under `modelID`; `nil` where a text is not cached.
    public func lookup(modelID: String, dimension: Int, texts: [String]) throws -> [[Float]?] {
        let keys = texts.map(EmbeddingCache.key)
        return try store.pool.read { db in
            let stmt = try db.cachedStatement(sql: "SELECT vector FROM embedding WHERE model_id = ? AND text_hash = ?")
            return try keys.map { k -> [Float]? in
                guard let blob = try Data.fetchOne(stmt, arguments: [modelID, k]) else { return nil }
                guard blob.count == dimension * 4 else { return nil }  // a different model under the same id: re-encode
                return EmbeddingCache.floats(blob)
            }
        }
    }

    /// Number of vectors cached for a model.
    public func count(modelID: String) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM embedding WHERE model_id = ?", arguments: [modelID]) ?? 0 }
    }

    /// Embeds `texts` with `encoder`, reading what is cached and encoding (and caching) the rest in
    /// chunks of `chunkSize` texts, each committed on its own. Rows come back in input order.
    public func embed(_ texts: [String], encoder: any SentenceEncoder, batchSize: Int = 32, chunkSize: Int = 256,
                      progress: ProgressReporter? = nil) throws -> Matrix {
        let d = encoder.dimension
        var out = Matrix(rows: texts.count, cols: d)
        let cached = try lookup(modelID: encoder.modelID, dimension: d, texts: texts)
        var missing: [Int] = []
        // Encode each distinct missing text once.
        var firstIndex: [String: Int] = [:]
        for (i, v) in cached.enumerated() {
            if let v { out.storage.replaceSubrange((i * d)..<((i + 1) * d), with: v) }
            else if firstIndex[texts[i]] == nil { firstIndex[texts[i]] = i; missing.append(i) }
        }
        progress?.total = texts.count
        progress?.advance(by: texts.count - missing.count)
        if !missing.isEmpty {
            try store.pool.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO embedding_model(model_id, dimension, description, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [encoder.modelID, d, String(describing: type(of: encoder)), ISO8601DateFormatter().string(from: Date())])
            }
        }
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + chunkSize, missing.count)])
            let m = try encoder.encode(chunk.map { texts[$0] }, batchSize: batchSize)
            try store.pool.write { db in
                let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO embedding(model_id, text_hash, vector) VALUES (?, ?, ?)")
                for (r, i) in chunk.enumerated() {
                    let row = Array(m.storage[(r * d)..<((r + 1) * d)])
                    out.storage.replaceSubrange((i * d)..<((i + 1) * d), with: row)
                    try stmt.execute(arguments: [encoder.modelID, EmbeddingCache.key(texts[i]), EmbeddingCache.blob(row)])
                }
            }
            progress?.advance(by: chunk.count)
            start += chunkSize
        }
        // Duplicated texts take the vector of their first occurrence.
        for (i, v) in cached.enumerated() where v == nil {
            let first = firstIndex[texts[i]]!
            if first != i { out.storage.replaceSubrange((i * d)..<((i + 1) * d), with: out.storage[(first * d)..<((first + 1) * d)]) }
        }
        progress?.finish()
        return out
    }

    /// Token-level embeddings (final hidden states, specials excluded) of `texts`, read from the
    /// cache where present and computed (and cached, committing per chunk) where not.
    public func tokenEmbeddings(_ texts: [String], encoder: BERTSentenceEncoder, batchSize: Int = 32, chunkSize: Int = 256,
                                progress: ProgressReporter? = nil) throws -> [Matrix] {
        let d = encoder.dimension
        let model = encoder.modelID + ":tokens"
        let keys = texts.map(EmbeddingCache.key)
        var out = [Matrix?](repeating: nil, count: texts.count)
        try store.pool.read { db in
            let stmt = try db.cachedStatement(sql: "SELECT rows, vector FROM token_embedding WHERE model_id = ? AND text_hash = ?")
            for (i, k) in keys.enumerated() {
                guard let row = try Row.fetchOne(stmt, arguments: [model, k]) else { continue }
                let rows: Int = row[0], blob: Data = row[1]
                guard blob.count == rows * d * 4 else { continue }
                out[i] = Matrix(rows: rows, cols: d, storage: EmbeddingCache.floats(blob))
            }
        }
        progress?.total = texts.count
        var missing: [Int] = []
        var seen = Set<Data>()
        for i in texts.indices where out[i] == nil && seen.insert(keys[i]).inserted { missing.append(i) }
        progress?.advance(by: texts.count - missing.count)
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + chunkSize, missing.count)])
            let ms = try encoder.tokenEmbeddings(chunk.map { texts[$0] }, batchSize: batchSize)
            try store.pool.write { db in
                let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO token_embedding(model_id, text_hash, rows, vector) VALUES (?, ?, ?, ?)")
                for (m, i) in zip(ms, chunk) {
                    out[i] = m
                    try stmt.execute(arguments: [model, keys[i], m.rows, EmbeddingCache.blob(m.storage)])
                }
            }
            progress?.advance(by: chunk.count)
            start += chunkSize
        }
        // Repeated texts share the first occurrence's states.
        var byKey: [Data: Matrix] = [:]
        for (i, m) in out.enumerated() { if let m { byKey[keys[i]] = m } }
        progress?.finish()
        return keys.map { byKey[$0]! }
    }

    static func blob(_ v: [Float]) -> Data {
        var data = Data(count: v.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (k, x) in v.enumerated() { raw.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: k * 4, as: UInt32.self) }
        }
        return data
    }

    static func floats(_ blob: Data) -> [Float] {
        blob.withUnsafeBytes { raw in
            (0..<(blob.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// Embeddings of every item text of a dataset, in item-id order, with the item ids.
    public func itemEmbeddings(dataset: DatasetInfo, encoder: any SentenceEncoder, batchSize: Int = 32,
                               progress: ProgressReporter? = nil) throws -> (itemIDs: [Int64], embeddings: Matrix) {
        let items = try store.items(dataset: dataset)
        let m = try embed(items.map(\.text), encoder: encoder, batchSize: batchSize, progress: progress)
        return (items.map(\.id), m)
    }
}
