import Foundation
import RecKit
import RecNumerics

/// Specificity-weighted soft-max of sentence-embedding cosines.
///
/// **Why.** The aspect reasoner's rationales on ml-100k are few and broad ("favours films from the
/// 1990s" is near much of the catalog), and ELLM's max lets the broadest rationale decide. A
/// rationale close to 40 % of the catalog says less about an item than one close to 2 %. This
/// metric weights each rationale by its *specificity*, an IDF for rationales: −log of its catalog
/// coverage, the share of items whose cosine to it exceeds a catalog-wide cut (the pooled
/// `cutQuantile` of rationale × item cosines). Coverage comes from each rationale's mean and
/// standard deviation over the catalog (the moments `calibrated-cosine` uses) under a normal
/// approximation, so it costs O((items + rationales)·d²), not a pass over every pair.
///
/// The user's rationales are combined by a weighted soft-max,
///   score = T · log Σ_j w_j exp(cos_j / T),   w_j = idf_j / Σ_k idf_k,
/// which tends to ELLM's max as T → 0 and to a specificity-weighted mean as T grows. T is tuned on
/// the validation part (`sweepVariants`). Each rationale's column is cos_j + T·log(R·w_j) (R the
/// user's rationale count), so the per-rationale ELLM reward sees the same offsets, and
/// `combinedScore` is exactly the soft-max above.
public struct SpecificitySoftmax: TunableDistance {
    public let temperature: Double
    public let cutQuantile: Double
    /// Specificity of every rationale (−log coverage), once prepared.
    let specificity: [Float]?

    public init(temperature: Double = 0.05, cutQuantile: Double = 0.95) {
        self.temperature = temperature; self.cutQuantile = cutQuantile; specificity = nil
    }
    /// `m` with given specificities (tests set them directly).
    init(copying m: SpecificitySoftmax, specificity: [Float]) {
        temperature = m.temperature; cutQuantile = m.cutQuantile; self.specificity = specificity
    }

    public var name: String { temperature == 0.05 ? "spec-softmax" : "spec-softmax:temperature=\(String(format: "%g", temperature))" }
    public var summary: String { "specificity-weighted soft-max of cosines (T = \(String(format: "%g", temperature)))" }
    public var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { nil }

    public var sweepVariants: [any DescriptionDistance] {
        [0.05, 0.01, 0.02, 0.1, 0.2].map { SpecificitySoftmax(temperature: $0, cutQuantile: cutQuantile) }
    }

    public func prepared(for context: ScoringContext) throws -> any DescriptionDistance {
        try context.check(self)
        return SpecificitySoftmax(copying: self, specificity: SpecificitySoftmax.specificities(context: context, cutQuantile: cutQuantile))
    }

    /// −log coverage of each rationale, coverage = P(cos > cut) under N(μ_r, σ_r²), floored at one
    /// item in the catalog so a rationale matching nothing is not infinitely specific.
    static func specificities(context: ScoringContext, cutQuantile: Double) -> [Float] {
        guard let items = context.catalog.embeddings, let rats = context.rationales.embeddings, items.rows > 0, rats.rows > 0 else { return [] }
        let (mean, sd) = CatalogCalibration.moments(items: items, rationales: rats)
        let cut = pooledQuantile(mean: mean, sd: sd, q: cutQuantile)
        let floor = 1 / Double(items.rows)
        return (0..<rats.rows).map { r in
            let z = (cut - Double(mean[r])) / Double(sd[r])
            let coverage = max(0.5 * erfc(z / 2.0.squareRoot()), floor)
            return Float(-log(coverage))
        }
    }

    /// The q-quantile of the mixture of the rationales' normal approximations: the cut c with
    /// mean over r of P(cos_r > c) = 1 − q, by bisection.
    static func pooledQuantile(mean: [Float], sd: [Float], q: Double) -> Double {
        var lo = -1.0, hi = 1.0
        for _ in 0..<60 {
            let c = (lo + hi) / 2
            var above = 0.0
            for r in mean.indices { above += 0.5 * erfc((c - Double(mean[r])) / Double(sd[r]) / 2.0.squareRoot()) }
            if above / Double(mean.count) > 1 - q { lo = c } else { hi = c }
        }
        return (lo + hi) / 2
    }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard let spec = specificity else { preconditionFailure("\(name) used before prepared(for:)") }
        var s = SBERTCosine().similarities(items: items, user: user, context: context)
        let r = s.cols
        let total = user.rationales.reduce(Float(0)) { $0 + spec[$1] }
        let t = Float(temperature)
        for j in 0..<r {
            // Uniform weights (every idf equal, or all zero) leave the cosines as they are.
            let w = total > 0 ? spec[user.rationales.lowerBound + j] / total : 1 / Float(r)
            let offset = t * log(max(w * Float(r), 1e-30))
            for i in 0..<s.rows { s.storage[i * r + j] += offset }
        }
        return s
    }

    /// T · log Σ_j exp(column_j / T) − T · log R: the specificity-weighted soft-max.
    public func combinedScore(_ row: [Float], user: UserQuery) -> Float {
        guard let m = row.max() else { return 0 }
        let t = Double(temperature)
        let sum = row.reduce(0.0) { $0 + exp((Double($1) - Double(m)) / t) }
        return Float(Double(m) + t * log(sum) - t * log(Double(row.count)))
    }
}
