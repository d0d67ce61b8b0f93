import Foundation
import GRDB
import RecKit

/// A synthetic-world user's latent taste, parsed back from the user attributes the world stored,
/// so simulators can let "the true preference model answer" instead of a fitted model.
///
/// Reproduces `SyntheticWorld.utility` and its rating rule exactly:
/// rating = clamp(round(3 + 1.2·z), 1, 5) with z = (utility − mean)/sd + noise·ε, ε ~ N(0, 1).
public struct SyntheticTaste: Sendable, Hashable {
    public var categories: Set<String>
    public var features: [String]
    public var tier: Int
    public var weight: Int
    public var dislikedFeature: String
    public var utilityMean: Double
    public var utilitySD: Double
    /// Rating noise in standardised utility units (the world's configuration).
    public var noise: Double

    /// Parses a user's stored attributes; nil when they are not a synthetic taste.
    public init?(attributes a: [String: String]) {
        guard let cats = a["categories"], let feats = a["features"], let tierName = a["tier"],
              let tier = SyntheticWorld.tiers.firstIndex(of: tierName), let weightName = a["weight"],
              let weight = SyntheticWorld.weights.firstIndex(of: weightName), let disliked = a["disliked_feature"],
              let mean = a["utility_mean"].flatMap(Double.init), let sd = a["utility_sd"].flatMap(Double.init),
              let noise = a["noise"].flatMap(Double.init) else { return nil }
        categories = Set(cats.split(separator: "|").map(String.init))
        features = feats.split(separator: "|").map(String.init)
        self.tier = tier
        self.weight = weight
        dislikedFeature = disliked
        utilityMean = mean
        utilitySD = sd
        self.noise = noise
    }

    /// The latent utility of an item, from its stored fields (`SyntheticWorld.utility`).
    public func utility(of item: ItemFields) -> Double {
        let itemFeatures = (item.attributes["features"] ?? "").split(separator: "|").map(String.init)
        var u = 0.0
        if let c = item.categories.first, categories.contains(c) { u += 2.0 }
        for f in features where itemFeatures.contains(f) { u += 1.0 }
        if itemFeatures.contains(dislikedFeature) { u -= 1.0 }
        let itemTier = item.attributes["tier"].flatMap { SyntheticWorld.tiers.firstIndex(of: $0) } ?? tier
        let itemWeight = item.attributes["weight"].flatMap { SyntheticWorld.weights.firstIndex(of: $0) } ?? weight
        u -= 0.5 * Double(abs(itemTier - tier))
        u -= 0.25 * Double(abs(itemWeight - weight))
        return u
    }

    /// The standardised utility z without noise.
    public func standardized(_ utility: Double) -> Double { (utility - utilityMean) / max(utilitySD, 1e-6) }

    /// Probabilities of ratings 1…5 under the world's noise.
    public func ratingDistribution(of item: ItemFields) -> [Double] {
        let center = 3 + 1.2 * standardized(utility(of: item))
        let spread = 1.2 * noise
        if spread <= 0 {
            let r = Int(min(5, max(1, center.rounded())))
            return (1...5).map { $0 == r ? 1 : 0 }
        }
        func cdf(_ x: Double) -> Double { 0.5 * (1 + erf((x - center) / (spread * 2.0.squareRoot()))) }
        // Ratings round to the nearest integer (ties away from zero, as Swift's rounded()), then clamp.
        return (1...5).map { k -> Double in
            let lo = k == 1 ? 0.0 : cdf(Double(k) - 0.5)
            let hi = k == 5 ? 1.0 : cdf(Double(k) + 0.5)
            return max(0, hi - lo)
        }
    }

    /// The expected rating of an item (the noise-free answer of the true model).
    public func expectedRating(of item: ItemFields) -> Double {
        ratingDistribution(of: item).enumerated().reduce(0) { $0 + Double($1.offset + 1) * $1.element }
    }

    /// One noisy rating drawn as the world draws them.
    public func sampleRating(of item: ItemFields, using g: inout SeededGenerator) -> Double {
        let z = standardized(utility(of: item)) + noise * g.nextGaussian()
        return min(5, max(1, (3 + 1.2 * z).rounded()))
    }
}

extension RatingStore {
    /// Stored user attributes of a dataset (the latent taste on synthetic worlds), by internal id.
    public func userAttributes(dataset: DatasetInfo) throws -> [Int64: [String: String]] {
        try pool.read { db in
            var out: [Int64: [String: String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, attributes FROM user WHERE dataset_id = ?", arguments: [dataset.id]) {
                out[row[0]] = RatingStore.decodeAttributes(row[1])
            }
            return out
        }
    }

    /// Latent tastes of a synthetic world's users, by internal id (empty for other datasets).
    public func syntheticTastes(dataset: DatasetInfo) throws -> [Int64: SyntheticTaste] {
        guard dataset.format == "synthetic" else { return [:] }
        return try userAttributes(dataset: dataset).compactMapValues(SyntheticTaste.init(attributes:))
    }
}
