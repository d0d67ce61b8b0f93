import Foundation
import Testing
import RecKit
import RecNumerics
@testable import RecDistances

/// Issue 15: the prepared representations hold each distinct buffer once.
@Suite struct ScoringContextMemoryTests {
    static func address(_ m: Matrix) -> UnsafeRawPointer? {
        m.storage.withUnsafeBufferPointer { $0.baseAddress.map(UnsafeRawPointer.init) }
    }

    @Test func repeatedTokenMatricesAreNormalisedOnceAndShared() {
        var g = SeededGenerator(seed: 4)
        let a = Matrix(rows: 3, cols: 5, storage: (0..<15).map { _ in Float(g.nextGaussian()) })
        let b = Matrix(rows: 2, cols: 5, storage: (0..<10).map { _ in Float(g.nextGaussian()) })
        let set = RationaleSet(texts: ["a", "b", "a", "a", "b"], tokenEmbeddings: [a, b, a, a, b])
        let t = set.tokenEmbeddings!
        #expect(t.count == 5)
        #expect(Self.address(t[0]) == Self.address(t[2]) && Self.address(t[0]) == Self.address(t[3]))
        #expect(Self.address(t[1]) == Self.address(t[4]))
        #expect(Self.address(t[0]) != Self.address(t[1]))
        #expect(t[0] == ScoringCatalog.normalized(a) && t[1] == ScoringCatalog.normalized(b))
    }

    @Test func unitRowsStandInForTheRawOnesOnlyWhenTheEncoderNormalises() {
        var g = SeededGenerator(seed: 5)
        let raw = Matrix(rows: 4, cols: 6, storage: (0..<24).map { _ in Float(g.nextGaussian()) })
        let unit = ScoringCatalog.normalized(raw)
        let fromUnit = RationaleSet(texts: ["1", "2", "3", "4"], embeddings: unit)
        #expect(Self.address(fromUnit.rawEmbeddings!) == Self.address(fromUnit.embeddings!))
        let fromRaw = RationaleSet(texts: ["1", "2", "3", "4"], embeddings: raw)
        #expect(fromRaw.rawEmbeddings! == raw)
        #expect(fromRaw.embeddings! == unit)
    }
}

/// Normalising in place (what `ScoringSetup.load` does with the matrices it alone holds) gives the
/// catalog exactly the matrices it would have built itself.
@Suite struct InPlaceNormalisationTests {
    @Test func inPlaceEqualsTheCatalogsOwnNormalisation() {
        var g = SeededGenerator(seed: 6)
        func m(_ r: Int) -> Matrix { Matrix(rows: r, cols: 8, storage: (0..<(r * 8)).map { _ in Float(g.nextGaussian()) }) }
        let a = m(3), b = m(4)
        let tokens = [a, b, a, b, a]
        let unitSentences = ScoringCatalog.normalized(m(5))
        let reference = ScoringCatalog(texts: (0..<5).map(String.init), embeddings: unitSentences, tokenEmbeddings: tokens)

        var t = tokens
        ScoringCatalog.normalizeSharingStorage(&t)
        var e = unitSentences
        #expect(ScoringCatalog.normalizeIfUnit(&e))
        let inPlace = ScoringCatalog(texts: (0..<5).map(String.init), embeddings: e, tokenEmbeddings: t,
                                     embeddingsAreNormalized: true, tokenEmbeddingsAreNormalized: true)
        #expect(inPlace.tokenEmbeddings! == reference.tokenEmbeddings!)
        #expect(inPlace.embeddings! == reference.embeddings! && inPlace.rawEmbeddings! == reference.rawEmbeddings!)
        #expect(ScoringContextMemoryTests.address(t[0]) == ScoringContextMemoryTests.address(t[2]))

        var raw = m(4)
        let before = raw
        #expect(!ScoringCatalog.normalizeIfUnit(&raw))  // not unit: left alone, raw kept by the catalog
        #expect(raw == before)
    }
}
