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
///
/// On a read-only store (reading commands: `validate-rewards`, `rec-train`) the cache only reads:
/// when every text is cached nothing is written. Texts that are missing are encoded and stored
/// through a second, writable connection opened for that purpose; when the store cannot be
/// written the error says to run `rec-data embed` on a writable copy first.
public struct EmbeddingCache: Sendable {
    public let store: RatingStore
    /// False when a read-only store lacks (some of) the cache tables: every text then counts as
    /// missing, and storing one creates the tables through a writable connection.
    let hasTables: Bool

    /// Opens the cache in `store`, creating its tables on first use (never on a read-only store).
    public init(store: RatingStore) throws {
        self.store = store
        hasTables = try store.migrate(EmbeddingCache.migrations).isEmpty
    }

    /// The store to write new vectors to: `store` itself, or, when it was opened read-only, the
    /// same file opened writable (migrated). `missing` and `model` only make the error specific.
    func writer(missing: Int, model: String) throws -> RatingStore {
        guard store.isReadOnly else { return store }
        do {
            let w = try RatingStore(path: store.path)
            try w.migrate(EmbeddingCache.migrations)
            return w
        } catch let e as StoreError {
            // The opening error says why the file cannot be written; the advice is what to do here.
            var why = "\(e)"
            if case .cannotOpen(_, let reason) = e { why = reason.components(separatedBy: ";").first ?? reason }
            throw StoreError.readOnly(path: store.path, needs: "\(missing) texts are not in its embedding cache for model \(model) (opening it for writing: \(why))")
        }
    }

    static let migrations = StoreMigrations(layer: "embedding", steps: [
        ("embedding-v1", { db in
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
        }),
        ("embedding-v2-tokens", { db in
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
        }),
    ])

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
        guard hasTables else { return keys.map { _ in nil } }
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
        guard hasTables else { return 0 }
        return try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM embedding WHERE model_id = ?", arguments: [modelID]) ?? 0 }
    }

    /// Embeds `texts` with `encoder`, reading what is cached and encoding (and caching) the rest in
    /// chunks of `chunkSize` distinct texts, each committed on its own. Rows come back in input
    /// order; a text that occurs several times is looked up or encoded once and every occurrence
    /// gets exactly the vector of its first occurrence.
    ///
    /// Cost is linear in `texts.count` (one hash and one row copy per text) plus the encoder's work
    /// on the distinct missing texts. Rows are copied through the matrix's buffer: replacing a
    /// range of `storage` with a slice of `storage` itself keeps the old buffer alive and so
    /// copies the whole matrix on every call, which made a 50k-rationale embed quadratic.
    public func embed(_ texts: [String], encoder: any SentenceEncoder, batchSize: Int = 32, chunkSize: Int = 256,
                      progress: ProgressReporter? = nil) throws -> Matrix {
        let d = encoder.dimension
        let n = texts.count
        var out = Matrix(rows: n, cols: d)
        guard n > 0, d > 0 else { return out }
        let keys = texts.map(EmbeddingCache.key)
        // source[i] is the first occurrence of text i; multiplicity counts the rows each first
        // occurrence stands for, so progress reports rows (what the caller asked for).
        var firstOf: [Data: Int] = [:]
        firstOf.reserveCapacity(n)
        var source = [Int](repeating: 0, count: n)
        var multiplicity = [Int](repeating: 0, count: n)
        var distinct: [Int] = []
        for i in 0..<n {
            if let f = firstOf[keys[i]] { source[i] = f } else { firstOf[keys[i]] = i; source[i] = i; distinct.append(i) }
            multiplicity[source[i]] += 1
        }
        // Cached vectors of distinct texts go straight into their rows.
        var missing: [Int] = []
        if !hasTables { missing = distinct }
        else { try store.pool.read { db in
            let stmt = try db.cachedStatement(sql: "SELECT vector FROM embedding WHERE model_id = ? AND text_hash = ?")
            try out.storage.withUnsafeMutableBufferPointer { buf in
                for i in distinct {
                    // A blob of another width is a different model under the same id: re-encode.
                    if let blob = try Data.fetchOne(stmt, arguments: [encoder.modelID, keys[i]]), blob.count == d * 4 {
                        EmbeddingCache.copyFloats(blob, to: buf.baseAddress! + i * d)
                    } else {
                        missing.append(i)
                    }
                }
            }
        } }
        progress?.total = n
        progress?.advance(by: n - missing.reduce(0) { $0 + multiplicity[$1] })
        let writer = try missing.isEmpty ? store : self.writer(missing: missing.count, model: encoder.modelID)
        if !missing.isEmpty {
            try writer.pool.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO embedding_model(model_id, dimension, description, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [encoder.modelID, d, String(describing: type(of: encoder)), ISO8601DateFormatter().string(from: Date())])
            }
        }
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + chunkSize, missing.count)])
            let m = try encoder.encode(chunk.map { texts[$0] }, batchSize: batchSize)
            precondition(m.rows == chunk.count && m.cols == d, "encoder returned \(m.rows)x\(m.cols) for \(chunk.count) texts of width \(d)")
            // Checked before anything is stored: whatever the encoder, a NaN vector must never enter
            // the cache, where every later run would read it back as a valid embedding.
            if let row = NonFiniteEmbeddingError.firstNonFiniteRow(m) {
                throw NonFiniteEmbeddingError(stage: "embedding cache write", modelID: encoder.modelID, index: chunk[row], text: texts[chunk[row]])
            }
            try writer.pool.write { db in
                let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO embedding(model_id, text_hash, vector) VALUES (?, ?, ?)")
                try m.storage.withUnsafeBufferPointer { src in
                    try out.storage.withUnsafeMutableBufferPointer { dst in
                        for (r, i) in chunk.enumerated() {
                            let row = UnsafeBufferPointer(rebasing: src[(r * d)..<((r + 1) * d)])
                            (dst.baseAddress! + i * d).update(from: row.baseAddress!, count: d)
                            try stmt.execute(arguments: [encoder.modelID, keys[i], EmbeddingCache.blob(row)])
                        }
                    }
                }
            }
            progress?.advance(by: chunk.reduce(0) { $0 + multiplicity[$1] })
            start += chunkSize
        }
        if writer !== store { writer.checkpoint() }
        // Duplicated texts take the vector of their first occurrence, copied row to row inside one
        // buffer (distinct rows never overlap).
        out.storage.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            for i in 0..<n where source[i] != i {
                (base + i * d).update(from: base + source[i] * d, count: d)
            }
        }
        progress?.finish()
        return out
    }

    /// Token-level embeddings (final hidden states, specials excluded) of `texts`, read from the
    /// cache where present and computed (and cached, committing per chunk) where not. Each
    /// distinct text is read or encoded once; repeats share its matrix (copy-on-write storage).
    public func tokenEmbeddings(_ texts: [String], encoder: BERTSentenceEncoder, batchSize: Int = 32, chunkSize: Int = 256,
                                progress: ProgressReporter? = nil) throws -> [Matrix] {
        let d = encoder.dimension
        let model = encoder.modelID + ":tokens"
        let keys = texts.map(EmbeddingCache.key)
        // First occurrence of each distinct text and how many rows it stands for (for progress).
        var multiplicity: [Data: Int] = [:]
        var distinct: [Int] = []
        for (i, k) in keys.enumerated() {
            if let m = multiplicity[k] { multiplicity[k] = m + 1 } else { multiplicity[k] = 1; distinct.append(i) }
        }
        var byKey: [Data: Matrix] = [:]
        byKey.reserveCapacity(distinct.count)
        if hasTables { try store.pool.read { db in
            let stmt = try db.cachedStatement(sql: "SELECT rows, vector FROM token_embedding WHERE model_id = ? AND text_hash = ?")
            for i in distinct {
                guard let row = try Row.fetchOne(stmt, arguments: [model, keys[i]]) else { continue }
                let rows: Int = row[0], blob: Data = row[1]
                guard blob.count == rows * d * 4 else { continue }
                byKey[keys[i]] = Matrix(rows: rows, cols: d, storage: EmbeddingCache.floats(blob))
            }
        } }
        let missing = distinct.filter { byKey[keys[$0]] == nil }
        progress?.total = texts.count
        progress?.advance(by: texts.count - missing.reduce(0) { $0 + multiplicity[keys[$1]]! })
        let writer = try missing.isEmpty ? store : self.writer(missing: missing.count, model: model)
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + chunkSize, missing.count)])
            let ms = try encoder.tokenEmbeddings(chunk.map { texts[$0] }, batchSize: batchSize)
            if let r = ms.firstIndex(where: { NonFiniteEmbeddingError.firstNonFiniteRow($0) != nil }) {
                throw NonFiniteEmbeddingError(stage: "token embedding cache write", modelID: model, index: chunk[r], text: texts[chunk[r]])
            }
            try writer.pool.write { db in
                let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO token_embedding(model_id, text_hash, rows, vector) VALUES (?, ?, ?, ?)")
                for (m, i) in zip(ms, chunk) {
                    byKey[keys[i]] = m
                    try stmt.execute(arguments: [model, keys[i], m.rows, EmbeddingCache.blob(m.storage)])
                }
            }
            progress?.advance(by: chunk.reduce(0) { $0 + multiplicity[keys[$1]]! })
            start += chunkSize
        }
        if writer !== store { writer.checkpoint() }
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

    static func blob(_ v: UnsafeBufferPointer<Float>) -> Data {
        var data = Data(count: v.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (k, x) in v.enumerated() { raw.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: k * 4, as: UInt32.self) }
        }
        return data
    }

    /// Decodes a little-endian Float32 blob into `destination` (which has room for all of it).
    static func copyFloats(_ blob: Data, to destination: UnsafeMutablePointer<Float>) {
        let n = blob.count / 4
        guard n > 0 else { return }
        blob.withUnsafeBytes { raw in
            #if _endian(little)
            // Stored as laid out in memory here: one copy (token matrices are tens of kilobytes).
            UnsafeMutableRawPointer(destination).copyMemory(from: raw.baseAddress!, byteCount: n * 4)
            #else
            for k in 0..<n {
                destination[k] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: k * 4, as: UInt32.self)))
            }
            #endif
        }
    }

    static func floats(_ blob: Data) -> [Float] {
        let n = blob.count / 4
        return [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 { copyFloats(blob, to: buffer.baseAddress!) }
            initialized = n
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
