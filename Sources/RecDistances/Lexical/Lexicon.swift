import Foundation

/// Word tokens of a text for lexical metrics: lower-cased runs of letters and digits, English
/// stopwords removed, plurals folded by a light suffix rule (boots → boot, comedies → comedy) so
/// that a rationale's "hiking boots" meets an item's "hiking boot".
public enum LexicalTokenizer {
    public static let stopwords: Set<String> = [
        "a", "an", "the", "and", "or", "but", "of", "in", "on", "at", "to", "for", "with", "by", "from", "as", "is",
        "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "they", "them", "their",
        "he", "she", "his", "her", "who", "whom", "which", "what", "i", "you", "we", "our", "your", "s", "t", "not",
        "no", "so", "than", "too", "very", "can", "will", "just", "do", "does", "did", "has", "have", "had", "into",
        "about", "over", "under", "up", "down", "out", "off", "all", "any", "some", "such", "more", "most", "other",
        "also", "if", "then", "there", "here", "when", "where", "why", "how", "each", "both", "only", "own", "same",
    ]

    public static func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var word = ""
        func flush() {
            if !word.isEmpty {
                if !stopwords.contains(word) { out.append(stem(word)) }
                word = ""
            }
        }
        for ch in text.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(ch) { word.unicodeScalars.append(ch) } else { flush() }
        }
        flush()
        return out
    }

    /// Plural folding only: enough for descriptions, never changes a word's meaning.
    static func stem(_ w: String) -> String {
        guard w.count > 3, w.last == "s", w.unicodeScalars.allSatisfy({ $0.isASCII }) else { return w }
        if w.hasSuffix("ies") { return String(w.dropLast(3)) + "y" }
        if w.hasSuffix("sses") || w.hasSuffix("shes") || w.hasSuffix("ches") || w.hasSuffix("xes") { return String(w.dropLast(2)) }
        if w.hasSuffix("ss") || w.hasSuffix("us") || w.hasSuffix("is") { return w }
        return String(w.dropLast())
    }
}

/// Catalog statistics for TF-IDF and BM25: the vocabulary, document frequencies, and each item's
/// term counts and length. Rationales are the queries, items the documents.
public struct Lexicon: Sendable {
    public private(set) var vocabulary: [String: Int] = [:]
    public private(set) var documentFrequency: [Int] = []
    /// Per item: (term id, count), sorted by term id.
    public private(set) var documents: [[(term: Int, count: Int)]] = []
    public private(set) var averageLength: Double = 0
    /// Euclidean norm of each item's TF-IDF vector, computed once for every rationale to share.
    public private(set) var tfidfNorms: [Double] = []
    public var documentCount: Int { documents.count }

    public init(documents texts: [String]) {
        var total = 0
        for t in texts {
            var counts: [Int: Int] = [:]
            for w in LexicalTokenizer.tokens(t) {
                let id: Int
                if let e = vocabulary[w] { id = e } else { id = vocabulary.count; vocabulary[w] = id; documentFrequency.append(0) }
                counts[id, default: 0] += 1
            }
            for id in counts.keys { documentFrequency[id] += 1 }
            let doc = counts.map { (term: $0.key, count: $0.value) }.sorted { $0.term < $1.term }
            total += doc.reduce(0) { $0 + $1.count }
            documents.append(doc)
        }
        averageLength = texts.isEmpty ? 0 : Double(total) / Double(texts.count)
        tfidfNorms = documents.map { doc in
            doc.reduce(0.0) { acc, tc in
                let w = Double(tc.count) * tfidfIDF(documentFrequency[tc.term])
                return acc + w * w
            }.squareRoot()
        }
    }

    public func documentFrequency(of term: String) -> Int { vocabulary[term].map { documentFrequency[$0] } ?? 0 }

    /// Smoothed idf as scikit-learn computes it: ln((1 + N) / (1 + df)) + 1.
    public func tfidfIDF(_ df: Int) -> Double { log((1 + Double(documentCount)) / (1 + Double(df))) + 1 }

    /// BM25's idf (Lucene's non-negative form): ln(1 + (N − df + 0.5) / (df + 0.5)).
    public func bm25IDF(_ df: Int) -> Double { log(1 + (Double(documentCount) - Double(df) + 0.5) / (Double(df) + 0.5)) }

    /// Term counts of a query text, with terms outside the catalog vocabulary kept by name.
    func query(_ text: String) -> (known: [Int: Int], unknown: [String: Int]) {
        var known: [Int: Int] = [:], unknown: [String: Int] = [:]
        for w in LexicalTokenizer.tokens(text) {
            if let id = vocabulary[w] { known[id, default: 0] += 1 } else { unknown[w, default: 0] += 1 }
        }
        return (known, unknown)
    }
}
