import RecNumerics

/// Something that turns texts into fixed-size embedding vectors, in the spirit of
/// sentence-transformers' `SentenceTransformer.encode`.
public protocol SentenceEncoder: Sendable {
    /// Embedding width.
    var dimension: Int { get }
    /// Stable identity of the model and its settings (weights, pooling, normalisation, length
    /// limit), suitable as a cache key: equal ids produce equal embeddings.
    var modelID: String { get }
    /// One row per text, in input order.
    func encode(_ texts: [String], batchSize: Int) throws -> Matrix
}

extension SentenceEncoder {
    /// Encodes with a batch size of 32 (sentence-transformers' default).
    public func encode(_ texts: [String]) throws -> Matrix { try encode(texts, batchSize: 32) }
}

/// An embedding that is not a vector of finite numbers (NaN or ±∞ somewhere), stopped where it
/// arose: a model with broken weights must not print "embeddings" or fill a cache with NaN.
public struct NonFiniteEmbeddingError: Error, CustomStringConvertible, Equatable {
    /// Where the value was found, e.g. "encoder output" or "embedding cache write".
    public var stage: String
    /// The model id of the encoder that produced it.
    public var modelID: String
    /// Index of the first offending text in the input.
    public var index: Int
    /// The offending text, when known (shortened in the message).
    public var text: String?

    /// Describes one non-finite embedding.
    public init(stage: String, modelID: String, index: Int, text: String? = nil) {
        self.stage = stage; self.modelID = modelID; self.index = index; self.text = text
    }

    public var description: String {
        let shown = text.map { t in " ('\(t.count > 60 ? String(t.prefix(60)) + "…" : t)')" } ?? ""
        return "\(stage): model \(modelID) produced a non-finite value (NaN or infinity) for text \(index)\(shown); the model's weights or input are broken"
    }

    /// The first row of `rows`×`cols` values holding a NaN or an infinity, if any.
    public static func firstNonFiniteRow(_ values: UnsafeBufferPointer<Float>, cols: Int) -> Int? {
        guard cols > 0 else { return nil }
        for (k, x) in values.enumerated() where !x.isFinite { return k / cols }
        return nil
    }

    /// The first non-finite row of `m`, if any.
    public static func firstNonFiniteRow(_ m: Matrix) -> Int? {
        m.storage.withUnsafeBufferPointer { firstNonFiniteRow($0, cols: m.cols) }
    }
}
