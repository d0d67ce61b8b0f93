import Foundation
import Testing
import RecData
import RecKit
import RecNumerics
@testable import RecEmbedding

/// The cache on a store opened read-only (Docs/guarantees.md, "Read-only use"): everything cached
/// means no write at all; missing texts are added through a side writer whose pages end up in the
/// file itself; a store marked read-only gets a message that says what to run.
@Suite(.serialized) struct EmbeddingCacheReadOnlyTests {
    /// Vectors from the text's hash: deterministic, no model to load.
    struct DigestEncoder: SentenceEncoder {
        let dimension = 4
        let modelID = "digest-encoder"
        func encode(_ texts: [String], batchSize: Int) throws -> Matrix {
            var m = Matrix(rows: texts.count, cols: dimension)
            for (r, t) in texts.enumerated() {
                var h = SHA256()
                h.update(t)
                let bytes = h.finalize()
                for c in 0..<dimension { m[r, c] = Float(bytes[c]) / 255 }
            }
            return m
        }
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    static func store(cached texts: [String]) throws -> (path: String, dir: URL) {
        let dir = try makeTempDirectory()
        let path = dir.appendingPathComponent("rec.sqlite").path
        do {
            let s = try RatingStore(path: path)
            _ = try EmbeddingCache(store: s).embed(texts, encoder: DigestEncoder())
        }
        return (path, dir)
    }

    @Test func everythingCachedMeansNoWrite() throws {
        let (path, _) = try Self.store(cached: ["a", "b", "c"])
        let before = try Self.bytes(path)
        let cache = try EmbeddingCache(store: try RatingStore(path: path, readOnly: true))
        let m = try cache.embed(["c", "a"], encoder: DigestEncoder())
        #expect(m.rows == 2)
        #expect(try Self.bytes(path) == before)
    }

    @Test func missingTextsAreAddedAndLandInTheFileItself() throws {
        let (path, dir) = try Self.store(cached: ["a"])
        do {
            let cache = try EmbeddingCache(store: try RatingStore(path: path, readOnly: true))
            _ = try cache.embed(["a", "new one", "another"], encoder: DigestEncoder())
            #expect(try cache.count(modelID: "digest-encoder") == 3)
        }
        // A copy of the .sqlite file alone (no -wal) has the new vectors.
        let copy = dir.appendingPathComponent("copy.sqlite").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        #expect(try EmbeddingCache(store: try RatingStore(path: copy, readOnly: true)).count(modelID: "digest-encoder") == 3)
    }

    @Test func aStoreWithoutTheCacheTablesReadsAsEmptyAndIsNotMigratedByReading() throws {
        let dir = try makeTempDirectory()
        let path = dir.appendingPathComponent("rec.sqlite").path
        _ = try RatingStore(path: path)
        let before = try Self.bytes(path)
        let cache = try EmbeddingCache(store: try RatingStore(path: path, readOnly: true))
        #expect(try cache.lookup(modelID: "digest-encoder", dimension: 4, texts: ["a"]) == [nil])
        #expect(try cache.count(modelID: "digest-encoder") == 0)
        #expect(try Self.bytes(path) == before)
    }

    @Test func aStoreMarkedReadOnlySaysWhatToRun() throws {
        let (path, dir) = try Self.store(cached: ["a"])
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
        let before = try Self.bytes(path)
        let cache = try EmbeddingCache(store: try RatingStore(path: path, readOnly: true))
        #expect {
            _ = try cache.embed(["a", "missing"], encoder: DigestEncoder())
        } throws: { e in
            "\(e)".contains(path) && "\(e)".contains("1 texts are not in its embedding cache") && "\(e)".contains("writable copy")
        }
        #expect(try Self.bytes(path) == before)
    }
}
