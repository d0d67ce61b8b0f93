import Foundation
import Testing
import RecData
import RecKit
import RecNumerics
@testable import RecEmbedding

/// A deterministic stand-in for a sentence encoder: each text's vector is derived from its SHA-256,
/// so equal texts get equal vectors and different texts different ones, without loading a model.
/// It records what it was asked to encode, so the tests can see that each text is encoded once.
private final class HashEncoder: SentenceEncoder, @unchecked Sendable {
    let dimension: Int
    let modelID: String
    private(set) var encoded: [String] = []
    private(set) var calls = 0

    init(dimension: Int = 8, modelID: String = "test-hash-encoder") {
        self.dimension = dimension
        self.modelID = modelID
    }

    static func vector(_ text: String, dimension: Int) -> [Float] {
        var h = SHA256()
        h.update(text)
        let bytes = Array(h.finalize())
        return (0..<dimension).map { Float(Int(bytes[$0 % bytes.count]) - 128) / 128 + Float($0) * 1e-3 }
    }

    func encode(_ texts: [String], batchSize: Int) throws -> Matrix {
        calls += 1
        encoded += texts
        return Matrix(rowArrays: texts.map { HashEncoder.vector($0, dimension: dimension) })
    }
}

/// Issue 15: duplicated texts take exactly their first occurrence's vector, in linear time, and the
/// cache stays right when the distinct texts span several chunks and when part of them is cached.
@Suite struct EmbeddingCacheDedupTests {
    static func store() throws -> RatingStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embdedup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try RatingStore(path: dir.appendingPathComponent("rec.sqlite").path)
    }

    /// Texts where a few phrases repeat many times, interleaved, as the aspect reasoner's do.
    static func texts(count: Int, distinct: Int, seed: UInt64) -> [String] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in "enjoys theme \(g.nextIndex(distinct)) in long stories" }
    }

    static func expectRowsMatch(_ m: Matrix, _ texts: [String], dimension d: Int) {
        #expect(m.rows == texts.count && m.cols == d)
        for (i, t) in texts.enumerated() {
            #expect(m.row(i) == HashEncoder.vector(t, dimension: d), "row \(i) ('\(t)')")
        }
    }

    @Test func duplicatesGetTheirFirstOccurrencesVectorAcrossChunks() throws {
        let texts = Self.texts(count: 500, distinct: 37, seed: 15)
        let distinct = Set(texts).count
        let encoder = HashEncoder()
        let cache = try EmbeddingCache(store: try Self.store())
        // chunkSize 5: the distinct texts span eight chunks, duplicates of a text from chunk k
        // appear before and after that chunk is committed.
        let m = try cache.embed(texts, encoder: encoder, chunkSize: 5)
        Self.expectRowsMatch(m, texts, dimension: encoder.dimension)
        #expect(encoder.encoded.count == distinct)  // each distinct text encoded exactly once
        #expect(Set(encoder.encoded).count == distinct)
        #expect(try cache.count(modelID: encoder.modelID) == distinct)
        // Exactly the first occurrence's row, bit for bit.
        var first: [String: Int] = [:]
        for (i, t) in texts.enumerated() {
            if let f = first[t] { #expect(m.row(i) == m.row(f)) } else { first[t] = i }
        }
    }

    @Test func aSecondCallReadsEverythingFromTheCache() throws {
        let texts = Self.texts(count: 300, distinct: 50, seed: 7)
        let cache = try EmbeddingCache(store: try Self.store())
        let first = try cache.embed(texts, encoder: HashEncoder(), chunkSize: 16)
        let again = HashEncoder()
        let second = try cache.embed(texts, encoder: again, chunkSize: 16)
        #expect(again.calls == 0)
        #expect(second == first)
        Self.expectRowsMatch(second, texts, dimension: again.dimension)
    }

    @Test func aPartlyCachedCallEncodesOnlyTheNewTextsAndKeepsOrder() throws {
        let old = Self.texts(count: 120, distinct: 20, seed: 1)
        let cache = try EmbeddingCache(store: try Self.store())
        _ = try cache.embed(old, encoder: HashEncoder(), chunkSize: 3)
        // New texts interleaved with cached ones, each new one repeated.
        var mixed: [String] = []
        for i in 0..<60 { mixed.append(old[i]); mixed.append("new text \(i % 13)") }
        let encoder = HashEncoder()
        let m = try cache.embed(mixed, encoder: encoder, chunkSize: 4)
        Self.expectRowsMatch(m, mixed, dimension: encoder.dimension)
        #expect(Set(encoder.encoded) == Set((0..<13).map { "new text \($0)" }))
        #expect(encoder.encoded.count == 13)
        #expect(encoder.calls == 4)  // 13 distinct new texts in chunks of 4
    }

    @Test func progressCountsEveryRowOnce() throws {
        let texts = Self.texts(count: 200, distinct: 30, seed: 3)
        let cache = try EmbeddingCache(store: try Self.store())
        _ = try cache.embed(Array(texts.prefix(50)), encoder: HashEncoder(), chunkSize: 8)
        let progress = ProgressReporter(label: "test", unit: "texts", enabled: false)
        _ = try cache.embed(texts, encoder: HashEncoder(), chunkSize: 8, progress: progress)
        #expect(progress.count == texts.count)
    }

    @Test func emptyInputAndAnAllDuplicateInput() throws {
        let cache = try EmbeddingCache(store: try Self.store())
        let encoder = HashEncoder()
        let empty = try cache.embed([], encoder: encoder)
        #expect(empty.rows == 0 && encoder.calls == 0)
        let same = [String](repeating: "the same rationale", count: 1000)
        let m = try cache.embed(same, encoder: encoder, chunkSize: 1)
        #expect(encoder.encoded == ["the same rationale"])
        Self.expectRowsMatch(m, same, dimension: encoder.dimension)
    }
}
