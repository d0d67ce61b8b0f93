import Foundation
import Testing
import RecData
import RecKit
import RecNumerics
@testable import RecEmbedding

/// An encoder that stops working after `limit` calls: the real MiniLM underneath, so what gets
/// cached is real; the failure stands for a killed process.
private final class InterruptedEncoder: SentenceEncoder, @unchecked Sendable {
    let inner: any SentenceEncoder
    let limit: Int
    private(set) var calls = 0
    init(_ inner: any SentenceEncoder, failAfter limit: Int) { self.inner = inner; self.limit = limit }
    var dimension: Int { inner.dimension }
    var modelID: String { inner.modelID }
    struct Interrupted: Error {}
    func encode(_ texts: [String], batchSize: Int) throws -> Matrix {
        calls += 1
        if calls > limit { throw Interrupted() }
        return try inner.encode(texts, batchSize: batchSize)
    }
}

@Suite(.serialized) struct EmbeddingCacheTests {
    static func store() throws -> RatingStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embcache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try RatingStore(path: dir.appendingPathComponent("rec.sqlite").path)
    }

    static let texts = (0..<40).map { "Product \($0 % 30): a lightweight trail shoe with strong grip, model \($0 % 30)." }

    @Test func cachedVectorsEqualFreshOnesAndDuplicatesAreEncodedOnce() throws {
        let encoder = try BERTSentenceEncoder(modelDirectory: try ModelStore().ensureMiniLM())
        let cache = try EmbeddingCache(store: try Self.store())
        let first = try cache.embed(Self.texts, encoder: encoder, chunkSize: 7)
        #expect(try cache.count(modelID: encoder.modelID) == 30)  // 30 distinct texts
        let direct = try encoder.encode(Self.texts)
        for i in 0..<Self.texts.count {
            #expect(zip(first.row(i), direct.row(i)).allSatisfy { abs($0 - $1) < 1e-5 })
        }
        let counting = InterruptedEncoder(encoder, failAfter: 0)
        let second = try cache.embed(Self.texts, encoder: counting)
        #expect(counting.calls == 0)
        #expect(second == first)
    }

    @Test func anInterruptedFillResumesWithoutReencoding() throws {
        let encoder = try BERTSentenceEncoder(modelDirectory: try ModelStore().ensureMiniLM())
        let cache = try EmbeddingCache(store: try Self.store())
        let broken = InterruptedEncoder(encoder, failAfter: 2)
        #expect(throws: InterruptedEncoder.Interrupted.self) { _ = try cache.embed(Self.texts, encoder: broken, chunkSize: 5) }
        #expect(try cache.count(modelID: encoder.modelID) == 10)  // two committed chunks survive
        let resumed = InterruptedEncoder(encoder, failAfter: 100)
        let m = try cache.embed(Self.texts, encoder: resumed, chunkSize: 5)
        #expect(resumed.calls == 4)  // only the 20 texts still missing
        #expect(try cache.count(modelID: encoder.modelID) == 30)
        #expect(m.rows == 40 && m.cols == 384)
    }

    @Test func tokenEmbeddingsAreCachedExactly() throws {
        let encoder = try BERTSentenceEncoder(modelDirectory: try ModelStore().ensureMiniLM())
        let cache = try EmbeddingCache(store: try Self.store())
        let texts = Array(Self.texts.prefix(12))
        let first = try cache.tokenEmbeddings(texts, encoder: encoder, chunkSize: 5)
        // The cache encodes the texts in chunks of 5, so the same chunks through the encoder run
        // the same GEMM shapes on the same kernel: bit-equal by construction on any CPU. (One batch
        // of 12 pads differently, and on AMD Zen 3 rounds differently in the last bits.)
        let direct = try stride(from: 0, to: texts.count, by: 5).flatMap {
            try encoder.tokenEmbeddings(Array(texts[$0..<min($0 + 5, texts.count)]))
        }
        #expect(first == direct)
        let again = try cache.tokenEmbeddings(texts, encoder: encoder)
        #expect(again == first)
        #expect(first[0].rows == encoder.tokenize(texts[0]).count - 2)
    }

    @Test func keysAreContentHashes() {
        #expect(EmbeddingCache.key("a") == EmbeddingCache.key("a"))
        #expect(EmbeddingCache.key("a") != EmbeddingCache.key("a "))
        #expect(EmbeddingCache.key("").count == 16)
    }
}
