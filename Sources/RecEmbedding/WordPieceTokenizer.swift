import Foundation

/// BERT's WordPiece tokenizer, reproducing Hugging Face `BertTokenizerFast` (the `tokenizers`
/// BertNormalizer + BertPreTokenizer + WordPiece pipeline that sentence-transformers loads),
/// which agrees with the slow Python `BertTokenizer` on all but exotic inputs.
///
/// Pipeline: clean text (drop NUL, U+FFFD and other C* code points; whitespace becomes a space)
/// → pad CJK ideographs with spaces → strip accents (NFD, drop Mn) → lower-case → split on
/// whitespace and around every punctuation character (Unicode P* plus ASCII symbols 33-47,
/// 58-64, 91-96, 123-126) → greedy longest-match-first WordPiece with `##` continuations;
/// words longer than 100 characters, or with no segmentation, become `[UNK]`.
public struct WordPieceTokenizer: Sendable {
    /// Token → id.
    public let vocabulary: [String: Int32]
    /// Whether text is lower-cased (uncased models).
    public let lowercase: Bool
    /// Whether accents are stripped; Hugging Face's default follows `lowercase`.
    public let stripAccents: Bool
    /// Whether CJK ideographs are split into single characters.
    public let tokenizeChineseChars: Bool
    /// Longest word (in Unicode scalars) that is split into pieces rather than mapped to `[UNK]`.
    public let maxInputCharsPerWord: Int
    public let unkToken: String
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    public let unkID: Int32
    /// Special tokens matched verbatim in the input before normalisation (Hugging Face "added
    /// tokens" with `normalized: false`): "[UNK]" written in a text becomes id 100, not "[ unk ]".
    public let specialTokens: [(scalars: [Unicode.Scalar], id: Int32)]
    private let specialFirstScalars: Set<Unicode.Scalar>

    /// Builds a tokenizer over `vocab.txt` contents (one token per line, id = line number).
    public init(vocabText: String, lowercase: Bool = true, stripAccents: Bool? = nil,
                tokenizeChineseChars: Bool = true, maxInputCharsPerWord: Int = 100,
                unkToken: String = "[UNK]", clsToken: String = "[CLS]", sepToken: String = "[SEP]",
                padToken: String = "[PAD]", extraSpecialTokens: [String] = [], file: String = "vocab.txt") throws {
        var vocab: [String: Int32] = [:]
        var id: Int32 = 0
        // Split on "\n" only: tokens may themselves contain other whitespace-like characters.
        for line in vocabText.split(separator: "\n", omittingEmptySubsequences: false) {
            var tok = Substring(line)
            if tok.hasSuffix("\r") { tok = tok.dropLast() }
            if tok.isEmpty && id > 0 && line.endIndex == vocabText.endIndex { break }
            vocab[String(tok)] = id  // a repeated token keeps its last id, as Hugging Face does
            id += 1
        }
        try self.init(vocabulary: vocab, lowercase: lowercase, stripAccents: stripAccents,
                      tokenizeChineseChars: tokenizeChineseChars, maxInputCharsPerWord: maxInputCharsPerWord,
                      unkToken: unkToken, clsToken: clsToken, sepToken: sepToken, padToken: padToken,
                      extraSpecialTokens: extraSpecialTokens, file: file)
    }

    /// Builds a tokenizer over an explicit vocabulary.
    public init(vocabulary: [String: Int32], lowercase: Bool = true, stripAccents: Bool? = nil,
                tokenizeChineseChars: Bool = true, maxInputCharsPerWord: Int = 100,
                unkToken: String = "[UNK]", clsToken: String = "[CLS]", sepToken: String = "[SEP]",
                padToken: String = "[PAD]", extraSpecialTokens: [String] = [], file: String = "vocabulary") throws {
        self.vocabulary = vocabulary
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.tokenizeChineseChars = tokenizeChineseChars
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.unkToken = unkToken
        func need(_ t: String) throws -> Int32 {
            guard let v = vocabulary[t] else { throw ModelFileError.invalidConfig(file: file, reason: "special token \(t) is not in the vocabulary") }
            return v
        }
        unkID = try need(unkToken)
        clsID = try need(clsToken)
        sepID = try need(sepToken)
        padID = vocabulary[padToken] ?? 0
        var specials: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for t in Set([padToken, unkToken, clsToken, sepToken, "[MASK]"] + extraSpecialTokens) {
            if let id = vocabulary[t], !t.isEmpty { specials.append((Array(t.unicodeScalars), id)) }
        }
        // Longest first: a longer special wins over a prefix of it (leftmost-longest matching).
        specialTokens = specials.sorted { ($0.scalars.count, $0.id) > ($1.scalars.count, $1.id) }
        specialFirstScalars = Set(specialTokens.map { $0.scalars[0] })
    }

    // MARK: Character classes (as the `tokenizers` crate defines them)

    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        default: return s.value > 0x7F && s.properties.isWhitespace || s.value == 0x0B || s.value == 0x0C
        }
    }

    @inline(__always)
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x20..<0x7F: return false
        default:
            switch s.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned: return true
            default: return false
            }
        }
    }

    @inline(__always)
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        if v < 0x80 { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    @inline(__always)
    static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }

    // MARK: Pipeline

    /// Normalised text split into words (whitespace and punctuation boundaries), as scalars.
    func preTokenize<S: Sequence>(_ text: S) -> [[Unicode.Scalar]] where S.Element == Unicode.Scalar {
        // 1. Clean + CJK padding (scalar level; order as in BertNormalizer).
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.underestimatedCount)
        var allASCII = true
        for s in text {
            if s.value == 0 || s.value == 0xFFFD || WordPieceTokenizer.isControl(s) { continue }
            if WordPieceTokenizer.isWhitespace(s) { cleaned.append(" "); continue }
            if tokenizeChineseChars && WordPieceTokenizer.isChineseChar(s) {
                cleaned.append(" "); cleaned.append(s); cleaned.append(" ")
                allASCII = false
                continue
            }
            if s.value > 0x7F { allASCII = false }
            cleaned.append(s)
        }
        // 2. Strip accents, then lower-case (BertNormalizer order).
        var normalized: [Unicode.Scalar]
        if allASCII {
            normalized = cleaned
            if lowercase {
                for i in normalized.indices where (0x41...0x5A).contains(normalized[i].value) {
                    normalized[i] = Unicode.Scalar(normalized[i].value + 32)!
                }
            }
        } else {
            normalized = []
            normalized.reserveCapacity(cleaned.count)
            var stage = cleaned
            if stripAccents {
                var s = String.UnicodeScalarView()
                s.append(contentsOf: cleaned)
                let nfd = String(s).decomposedStringWithCanonicalMapping
                stage = nfd.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
            }
            if lowercase {
                for s in stage {
                    if s.value < 0x80 {
                        normalized.append((0x41...0x5A).contains(s.value) ? Unicode.Scalar(s.value + 32)! : s)
                    } else {
                        // Per-scalar full mapping, like Rust's char::to_lowercase (no final-sigma context).
                        normalized.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                    }
                }
            } else {
                normalized = stage
            }
        }
        // 3. Split on whitespace, isolate punctuation.
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for s in normalized {
            if WordPieceTokenizer.isWhitespace(s) {
                if !current.isEmpty { words.append(current); current = [] }
            } else if WordPieceTokenizer.isPunctuation(s) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([s])
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// WordPiece ids of one word.
    func wordPieces(_ word: [Unicode.Scalar], into out: inout [Int32]) {
        if word.count > maxInputCharsPerWord { out.append(unkID); return }
        var pieces: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32? = nil
            while start < end {
                var s = String.UnicodeScalarView()
                if start > 0 { s.append("#"); s.append("#") }
                s.append(contentsOf: word[start..<end])
                if let id = vocabulary[String(s)] { found = id; break }
                end -= 1
            }
            guard let id = found else { out.append(unkID); return }
            pieces.append(id)
            start = end
        }
        out.append(contentsOf: pieces)
    }

    /// Token ids without special tokens.
    public func tokenIDs(_ text: String) -> [Int32] {
        var out: [Int32] = []
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var i = 0
        // Special tokens are cut out of the raw text first; the pieces between them are normalised.
        while i < scalars.count {
            if specialFirstScalars.contains(scalars[i]),
               let sp = specialTokens.first(where: { sp in
                   i + sp.scalars.count <= scalars.count && scalars[i..<(i + sp.scalars.count)].elementsEqual(sp.scalars)
               }) {
                for w in preTokenize(scalars[segmentStart..<i]) { wordPieces(w, into: &out) }
                out.append(sp.id)
                i += sp.scalars.count
                segmentStart = i
            } else {
                i += 1
            }
        }
        for w in preTokenize(scalars[segmentStart...]) { wordPieces(w, into: &out) }
        return out
    }

    /// Token strings without special tokens (for inspection and tests).
    public func tokens(_ text: String) -> [String] {
        var inverse: [Int32: String] = [:]
        let ids = tokenIDs(text)
        for (k, v) in vocabulary where ids.contains(v) { inverse[v] = k }
        return ids.map { inverse[$0] ?? unkToken }
    }

    /// `[CLS] pieces [SEP]`, truncated so the whole sequence has at most `maxLength` ids
    /// (sentence-transformers' `max_seq_length` counts the special tokens).
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        var ids = tokenIDs(text)
        let room = max(0, maxLength - 2)
        if ids.count > room { ids.removeSubrange(room...) }
        return [clsID] + ids + [sepID]
    }
}
