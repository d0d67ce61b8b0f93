import RecKit
import RecNumerics

/// Control without rationales: cosine between the item and the centroid of the user's liked
/// training items. If rationale metrics cannot beat it, the rationales add nothing over the
/// history they were written from. A user without liked items scores 0 everywhere (a tie).
public struct CentroidCosine: DescriptionDistance {
    public init() {}
    public var name: String { "centroid-cosine" }
    public var summary: String { "control: cosine to the centroid of the user's liked training items" }
    public var needs: MetricNeeds { [.sentenceEmbeddings] }
    public var range: ClosedRange<Double>? { -1...1 }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard !user.likedItems.isEmpty else { return Matrix(rows: items.count, cols: 1) }
        guard let catalog = context.catalog.embeddings else {
            preconditionFailure(MetricError.missingInput(metric: name, what: "item embeddings").description)
        }
        let centroid = likedCentroids([user.likedItems], items: catalog)
        return Kernels.gemm(context.itemEmbeddings(items, metric: name), centroid, transposeB: true)
    }
}

/// Control without rationales or text: log(1 + training interactions of the item).
public struct PopularityScore: DescriptionDistance {
    public init() {}
    public var name: String { "popularity" }
    public var summary: String { "control: log(1 + training interactions)" }
    public var needs: MetricNeeds { [] }
    public var range: ClosedRange<Double>? { 0...Double.greatestFiniteMagnitude }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        Matrix(rows: items.count, cols: 1, storage: items.map { log1pf(context.catalog.popularity[$0]) })
    }
}

/// Control: a uniform random score per (seed, user, item), independent of the order of scoring.
public struct RandomScore: DescriptionDistance {
    public init() {}
    public var name: String { "random" }
    public var summary: String { "control: uniform random score (seeded)" }
    public var needs: MetricNeeds { [] }
    public var range: ClosedRange<Double>? { 0...1 }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        let base = SeededGenerator(seed: context.seed).fork("random-metric:\(user.userID)")
        return Matrix(rows: items.count, cols: 1, storage: items.map { item in
            var g = base.fork(String(item))
            return g.nextUnitFloat()
        })
    }
}

#if canImport(Glibc)
import Glibc
#endif
