import Foundation
import Testing
@testable import RecEmbedding
import RecNumerics

/// Agreement with sentence-transformers 6.0.1 on all-MiniLM-L6-v2 (fixture recorded in Python).
@Suite struct FidelityTests {
    @Test func tokenIDsMatchHuggingFace() throws {
        let ref = try Fixtures.reference()
        let enc = try Fixtures.encoder.get()
        #expect(enc.configuration.maxSeqLength == ref.max_seq_length)
        for r in ref.records {
            let ids = enc.tokenize(r.text)
            #expect(ids == r.input_ids, "token ids differ for \(r.text.debugDescription)")
        }
    }

    @Test func embeddingsMatchSentenceTransformers() throws {
        let ref = try Fixtures.reference()
        let enc = try Fixtures.encoder.get()
        #expect(enc.dimension == 384)
        let m = try enc.encode(ref.records.map(\.text), batchSize: 16)
        #expect(m.rows == ref.records.count && m.cols == 384)
        var worstCos: Float = 1, worstDiff: Float = 0
        for (i, r) in ref.records.enumerated() {
            let row = m.row(i)
            let cos = Kernels.cosine(row, r.embedding)
            let diff = zip(row, r.embedding).map { abs($0 - $1) }.max() ?? 0
            worstCos = min(worstCos, cos); worstDiff = max(worstDiff, diff)
            #expect(cos >= 0.99999, "cosine \(cos) for \(r.text.debugDescription)")
            #expect(diff <= 1e-4, "max abs diff \(diff) for \(r.text.debugDescription)")
        }
        print("fidelity: worst cosine \(worstCos), worst max-abs-diff \(worstDiff)")
    }

    @Test func batchedAgreesWithOneByOne() throws {
        let ref = try Fixtures.reference()
        let enc = try Fixtures.encoder.get()
        let texts = ref.records.map(\.text)
        let batched = try enc.encode(texts, batchSize: 7)
        for (i, t) in texts.enumerated() {
            let single = try enc.encode([t], batchSize: 1)
            let diff = zip(single.row(0), batched.row(i)).map { abs($0 - $1) }.max() ?? 0
            #expect(diff <= 1e-5, "batched vs single differ by \(diff) for \(t.debugDescription)")
        }
    }
}
