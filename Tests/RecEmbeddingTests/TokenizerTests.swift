import Foundation
import Testing
@testable import RecEmbedding

@Suite struct TokenizerTests {
    /// A toy vocabulary: enough to check the pipeline rules without the model.
    static func toy(lowercase: Bool = true) throws -> WordPieceTokenizer {
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world", "!", ",",
                      "naive", "cafe", "北", "京", "is", "a", "##b", "Hello", "'", "s", "$", "1", "##9", ".", "99"]
        return try WordPieceTokenizer(vocabText: tokens.joined(separator: "\n") + "\n", lowercase: lowercase)
    }

    @Test func wordPieceGreedyLongestMatch() throws {
        let t = try Self.toy()
        #expect(t.tokens("unaffable") == ["un", "##aff", "##able"])
        #expect(t.tokens("Hello, WORLD!") == ["hello", ",", "world", "!"])
        #expect(t.tokens("unknownword") == ["[UNK]"])  // no segmentation -> the whole word is [UNK]
    }

    @Test func emptyAndWhitespaceOnly() throws {
        let t = try Self.toy()
        #expect(t.tokenIDs("") == [])
        #expect(t.tokenIDs(" \t\n\r ") == [])
        #expect(t.encode("", maxLength: 8) == [t.clsID, t.sepID])
    }

    @Test func accentsAreStrippedWhenLowercasing() throws {
        let t = try Self.toy()
        #expect(t.tokens("Naïve CAFÉ") == ["naive", "cafe"])
        let cased = try Self.toy(lowercase: false)
        #expect(cased.tokens("Hello") == ["Hello"])
        #expect(cased.tokens("hello") == ["hello"])
    }

    @Test func cjkCharactersAreSplit() throws {
        let t = try Self.toy()
        #expect(t.tokens("北京is") == ["北", "京", "is"])
    }

    @Test func punctuationAndSymbols() throws {
        let t = try Self.toy()
        #expect(t.tokens("a's") == ["a", "'", "s"])
        #expect(t.tokens("$19.99") == ["$", "1", "##9", ".", "99"])
        // Unicode punctuation (Pd em dash) splits; unknown symbols become [UNK].
        #expect(t.tokens("a—a") == ["a", "[UNK]", "a"])
    }

    @Test func controlCharactersAreRemoved() throws {
        let t = try Self.toy()
        #expect(t.tokens("hel\u{0}lo\u{7}") == ["hello"])
        #expect(t.tokens("hello\u{200B}world") == ["[UNK]"])  // zero-width space is Cf: removed, joining the words
    }

    @Test func invalidUTF8IsDecodedLossilyAndDeterministically() throws {
        let t = try Self.toy()
        let bytes: [UInt8] = Array("hello ".utf8) + [0xFF, 0xC3] + Array(" world".utf8)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.unicodeScalars.contains("\u{FFFD}"))
        #expect(t.tokens(text) == ["hello", "world"])  // U+FFFD is dropped by clean-up
        #expect(t.tokenIDs(text) == t.tokenIDs(String(decoding: bytes, as: UTF8.self)))
    }

    @Test func overlongWordIsUnknown() throws {
        let t = try Self.toy()
        let w100 = "un" + String(repeating: "b", count: 98)  // "un" + "##b" x 98: segmentable
        #expect(t.tokenIDs(w100).count == 99)
        let w101 = w100 + "b"
        #expect(t.tokens(w101) == ["[UNK]"])
    }

    @Test func specialTokensInTextAreKept() throws {
        let t = try Self.toy()
        #expect(t.tokens("hello [UNK] world[SEP]") == ["hello", "[UNK]", "world", "[SEP]"])
        // Matching is case-sensitive and happens before lower-casing, as in Hugging Face.
        #expect(!t.tokenIDs("[unk]").isEmpty && t.tokenIDs("[unk]").count == 3)
    }

    @Test func truncationCountsSpecialTokens() throws {
        let t = try Self.toy()
        let ids = t.encode(String(repeating: "hello ", count: 50), maxLength: 10)
        #expect(ids.count == 10)
        #expect(ids.first == t.clsID && ids.last == t.sepID)
    }

    @Test func realVocabularyEdgeCases() throws {
        let enc = try Fixtures.encoder.get()
        let t = enc.tokenizer
        #expect(enc.tokenize("") == [101, 102])
        #expect(t.tokens("naïve façade") == ["naive", "facade"])
        let long = String(repeating: "a", count: 101)
        #expect(t.tokens(long) == ["[UNK]"])
        #expect(t.tokens(String(repeating: "a", count: 100)) != ["[UNK]"])
        #expect(t.tokens("東京") == ["東", "京"])
    }
}
