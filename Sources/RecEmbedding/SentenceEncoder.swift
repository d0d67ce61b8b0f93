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
