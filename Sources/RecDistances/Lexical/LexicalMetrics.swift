import Foundation
import RecNumerics

/// TF-IDF cosine with scikit-learn's defaults (raw term counts, smoothed idf, L2 normalisation),
/// corpus statistics from the catalog.
public struct TFIDFCosine: DescriptionDistance {
    public init() {}
    public var name: String { "tfidf-cosine" }
    public var summary: String { "TF-IDF cosine (catalog idf)" }
    public var needs: MetricNeeds { [.rationales] }
    public var range: ClosedRange<Double>? { 0...1 }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        let lex = context.catalog.lexicon
        var out = Matrix(rows: items.count, cols: user.rationales.count)
        for (j, r) in user.rationales.enumerated() {
            let q = lex.query(context.rationales.texts[r])
            var qw: [Int: Double] = [:]
            var norm = 0.0
            for (t, c) in q.known { let w = Double(c) * lex.tfidfIDF(lex.documentFrequency[t]); qw[t] = w; norm += w * w }
            for (_, c) in q.unknown { let w = Double(c) * lex.tfidfIDF(0); norm += w * w }
            guard norm > 0 else { continue }
            norm = norm.squareRoot()
            for (i, item) in items.enumerated() {
                var dot = 0.0
                for (t, c) in lex.documents[item] {
                    if let a = qw[t] { dot += a * Double(c) * lex.tfidfIDF(lex.documentFrequency[t]) }
                }
                let dn = lex.tfidfNorms[item]
                if dn > 0 { out[i, j] = Float(dot / (norm * dn)) }
            }
        }
        return out
    }
}

/// Okapi BM25 (Robertson & Zaragoza 2009) with k1 = 1.2, b = 0.75: the rationale is the query,
/// the item text the document, corpus statistics from the catalog.
public struct BM25: DescriptionDistance {
    public let k1: Double
    public let b: Double
    public init(k1: Double = 1.2, b: Double = 0.75) { self.k1 = k1; self.b = b }
    public var name: String { "bm25" }
    public var summary: String { "Okapi BM25 (k1 = \(k1), b = \(b)), rationale as query" }
    public var needs: MetricNeeds { [.rationales] }
    public var range: ClosedRange<Double>? { 0...Double.greatestFiniteMagnitude }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        let lex = context.catalog.lexicon
        var out = Matrix(rows: items.count, cols: user.rationales.count)
        for (j, r) in user.rationales.enumerated() {
            let q = lex.query(context.rationales.texts[r]).known
            for (i, item) in items.enumerated() {
                let doc = lex.documents[item]
                let len = Double(doc.reduce(0) { $0 + $1.count })
                var s = 0.0
                for (t, c) in doc where q[t] != nil {
                    let tf = Double(c)
                    let norm = tf + k1 * (1 - b + b * len / max(lex.averageLength, 1e-9))
                    s += Double(q[t]!) * lex.bm25IDF(lex.documentFrequency[t]) * tf * (k1 + 1) / norm
                }
                out[i, j] = Float(s)
            }
        }
        return out
    }
}

/// Jaccard similarity of the token sets of rationale and item text.
public struct TokenJaccard: DescriptionDistance {
    public init() {}
    public var name: String { "jaccard" }
    public var summary: String { "Jaccard overlap of word sets" }
    public var needs: MetricNeeds { [.rationales] }
    public var range: ClosedRange<Double>? { 0...1 }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        // Item word sets come from the catalog lexicon (tokenised once per run); a rationale word
        // missing from the catalog can only enlarge the union.
        let lex = context.catalog.lexicon
        var out = Matrix(rows: items.count, cols: user.rationales.count)
        for (j, r) in user.rationales.enumerated() {
            let q = lex.query(context.rationales.texts[r])
            let known = Set(q.known.keys)
            let unknown = q.unknown.count
            for (i, item) in items.enumerated() {
                let doc = lex.documents[item]
                var common = 0
                for (t, _) in doc where known.contains(t) { common += 1 }
                let union = doc.count + known.count + unknown - common
                out[i, j] = union == 0 ? 0 : Float(common) / Float(union)
            }
        }
        return out
    }
}
