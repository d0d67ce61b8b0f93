import Foundation
import RecKit

/// A controlled world in which reward validity can be checked against ground truth.
///
/// A catalog of outdoor-gear products is drawn from attributes (category, weight class, features,
/// material, colour, price tier, brand) and described in natural language. Each user has latent
/// preferences: favourite categories, wanted features, a price tier and a disliked feature. A
/// user's utility for an item is the sum of the matching preference weights; ratings are that
/// utility, standardised, plus Gaussian noise, mapped onto 1–5. Every user's *true preference
/// statement* verbalises exactly the latent preferences, so a reasoner that recovered it perfectly
/// (the oracle) bounds what rationale rewards can achieve.
///
/// The same configuration and seed always produce the same world.
public struct SyntheticWorld: DatasetImporter {
    public struct Configuration: Sendable, Codable, Hashable {
        public var users = 300
        public var items = 600
        /// Ratings per user are drawn uniformly from this range.
        public var ratingsPerUser = 20...60
        /// Standard deviation of rating noise, in standardised utility units.
        public var noise = 0.5
        /// Fraction of a user's rated items drawn from their favourite categories (exposure bias).
        public var exposureBias = 0.5
        public var seed: UInt64 = 1
        public init() {}
    }

    public let configuration: Configuration
    public var format: String { "synthetic" }
    public var inputFiles: [String] { [] }
    public var nativeScale: RatingScale? { RatingScale(min: 1, max: 5) }

    public init(_ configuration: Configuration) throws {
        guard configuration.users > 0, configuration.items >= 10 else {
            throw StoreError.invalidArgument("a synthetic world needs at least 1 user and 10 items (got \(configuration.users) users, \(configuration.items) items)")
        }
        guard configuration.ratingsPerUser.lowerBound >= 1, configuration.ratingsPerUser.upperBound <= configuration.items else {
            throw StoreError.invalidArgument("ratings per user must lie within 1...\(configuration.items) (got \(configuration.ratingsPerUser))")
        }
        guard configuration.noise >= 0, (0...1).contains(configuration.exposureBias) else {
            throw StoreError.invalidArgument("noise must be ≥ 0 and exposure bias within 0...1")
        }
        self.configuration = configuration
    }

    // MARK: Vocabulary

    struct Category { let name: String; let plural: String; let features: [String] }

    static let categories: [Category] = [
        Category(name: "trail running shoe", plural: "trail running shoes", features: ["strong grip", "cushioned", "waterproof", "breathable", "wide toe box", "rock plate"]),
        Category(name: "road running shoe", plural: "road running shoes", features: ["cushioned", "responsive", "breathable", "carbon plate", "wide toe box", "reflective"]),
        Category(name: "hiking boot", plural: "hiking boots", features: ["waterproof", "ankle support", "strong grip", "insulated", "breathable", "wide toe box"]),
        Category(name: "rain jacket", plural: "rain jackets", features: ["waterproof", "breathable", "packable", "hooded", "reflective", "pit zips"]),
        Category(name: "insulated jacket", plural: "insulated jackets", features: ["insulated", "packable", "hooded", "water resistant", "recycled", "windproof"]),
        Category(name: "backpack", plural: "backpacks", features: ["waterproof", "hydration compatible", "padded hip belt", "packable", "ventilated back", "many pockets"]),
        Category(name: "tent", plural: "tents", features: ["waterproof", "freestanding", "packable", "four season", "quick pitch", "ventilated"]),
        Category(name: "sleeping bag", plural: "sleeping bags", features: ["insulated", "packable", "water resistant", "recycled", "wide cut", "four season"]),
        Category(name: "headlamp", plural: "headlamps", features: ["rechargeable", "waterproof", "red light mode", "long battery life", "lightweight strap", "motion sensor"]),
        Category(name: "trekking pole", plural: "trekking poles", features: ["carbon shaft", "foldable", "cork grip", "adjustable", "shock absorbing", "packable"]),
    ]
    static let weights = ["ultralight", "lightweight", "midweight", "heavy-duty"]
    static let materials = ["recycled nylon", "merino wool", "Gore-Tex", "ripstop polyester", "leather", "carbon fibre", "aluminium", "down"]
    static let colours = ["black", "forest green", "bright orange", "navy blue", "grey", "red", "sand"]
    static let tiers = ["budget", "mid-range", "premium"]
    static let tierPrice = [(15.0, 60.0), (60.0, 160.0), (160.0, 450.0)]
    static let brands = ["Alpenglow", "Ridgeline", "Summit & Co", "Northfold", "Cairn", "Switchback", "Talus", "Skyward"]
    static let models = ["Aero", "Vista", "Ranger", "Pulse", "Drift", "Crest", "Nomad", "Flux", "Ember", "Glide", "Boulder", "Zephyr"]

    /// An item's latent attributes.
    struct Product {
        var category: Int
        var weight: Int
        var features: [String]
        var material: String
        var colour: String
        var tier: Int
        var price: Double
        var brand: String
        var model: String
    }

    /// A user's latent preferences and their weights.
    struct Taste {
        var categories: [Int]
        var features: [String]
        var tier: Int
        var weight: Int
        var dislikedFeature: String
    }

    func products(_ g: inout SeededGenerator) -> [Product] {
        (0..<configuration.items).map { _ in
            let c = g.nextIndex(SyntheticWorld.categories.count)
            let cat = SyntheticWorld.categories[c]
            var feats = cat.features
            feats.shuffle(using: &g)
            let nf = 2 + g.nextIndex(2)
            let tier = g.nextIndex(3)
            let (lo, hi) = SyntheticWorld.tierPrice[tier]
            let price = ((lo + (hi - lo) * g.nextUnit()) * 100).rounded() / 100 - 0.01
            return Product(category: c, weight: g.nextIndex(SyntheticWorld.weights.count), features: Array(feats.prefix(nf)),
                           material: SyntheticWorld.materials[g.nextIndex(SyntheticWorld.materials.count)],
                           colour: SyntheticWorld.colours[g.nextIndex(SyntheticWorld.colours.count)],
                           tier: tier, price: price,
                           brand: SyntheticWorld.brands[g.nextIndex(SyntheticWorld.brands.count)],
                           model: SyntheticWorld.models[g.nextIndex(SyntheticWorld.models.count)])
        }
    }

    func taste(_ g: inout SeededGenerator) -> Taste {
        var cats = Array(0..<SyntheticWorld.categories.count)
        cats.shuffle(using: &g)
        let favourite = Array(cats.prefix(1 + g.nextIndex(2)))
        var pool = Array(Set(favourite.flatMap { SyntheticWorld.categories[$0].features })).sorted()
        pool.shuffle(using: &g)
        let wanted = Array(pool.prefix(2))
        let allFeatures = Array(Set(SyntheticWorld.categories.flatMap(\.features))).sorted()
        var disliked = allFeatures[g.nextIndex(allFeatures.count)]
        while wanted.contains(disliked) { disliked = allFeatures[g.nextIndex(allFeatures.count)] }
        return Taste(categories: favourite, features: wanted, tier: g.nextIndex(3), weight: g.nextIndex(SyntheticWorld.weights.count), dislikedFeature: disliked)
    }

    /// The latent utility of a product for a taste (before standardisation and noise).
    static func utility(_ p: Product, _ t: Taste) -> Double {
        var u = 0.0
        if t.categories.contains(p.category) { u += 2.0 }
        for f in t.features where p.features.contains(f) { u += 1.0 }
        if p.features.contains(t.dislikedFeature) { u -= 1.0 }
        u -= 0.5 * Double(abs(p.tier - t.tier))
        u -= 0.25 * Double(abs(p.weight - t.weight))
        return u
    }

    static func describe(_ p: Product, _ g: inout SeededGenerator) -> (title: String, description: String) {
        let cat = categories[p.category]
        let title = "\(p.brand) \(p.model) \(cat.name.capitalized)"
        let feats = p.features.count == 2 ? "\(p.features[0]) and \(p.features[1])"
            : p.features.dropLast().joined(separator: ", ") + " and " + p.features.last!
        let w = weights[p.weight], tier = tiers[p.tier]
        let phrasings = [
            "A \(w) \(p.colour) \(cat.name) made of \(p.material): \(feats). A \(tier) choice.",
            "\(w.capitalized) \(cat.name) in \(p.colour), built from \(p.material). Features: \(feats). \(tier.capitalized) price.",
            "This \(tier) \(cat.name) is \(w) and \(feats), with a \(p.material) build in \(p.colour).",
        ]
        return (title, phrasings[g.nextIndex(phrasings.count)])
    }

    /// The true preference statement: what the user values, one sentence per latent preference
    /// (categories and weight class, wanted features, price tier). It states attractions only,
    /// as rationales do: a similarity reward cannot express "avoids", and a clause naming the
    /// disliked feature would pull items *with* that feature closer. The aversion is kept in
    /// `avoidance(_:)` and in the user's attributes.
    static func statement(_ t: Taste) -> String {
        let cats = t.categories.map { categories[$0].plural }.joined(separator: " and ")
        return "Prefers \(weights[t.weight]) \(cats). Looks for products that are \(t.features[0]) and \(t.features[1]). Shops at a \(tiers[t.tier]) price."
    }

    /// The user's aversion, as a sentence.
    static func avoidance(_ t: Taste) -> String { "Avoids anything \(t.dislikedFeature)." }

    public func run(into w: DatasetWriter) throws {
        let root = SeededGenerator(seed: configuration.seed)
        var gItems = root.fork("catalog")
        let catalog = products(&gItems)
        var byCategory = [[Int]](repeating: [], count: SyntheticWorld.categories.count)
        var itemIDs: [Int64] = []
        for (k, p) in catalog.enumerated() {
            byCategory[p.category].append(k)
            let (title, text) = SyntheticWorld.describe(p, &gItems)
            var f = ItemFields(externalID: "p\(k + 1)", title: title, description: text,
                               genres: [], categories: [SyntheticWorld.categories[p.category].name], price: p.price)
            f.attributes = ["brand": p.brand, "material": p.material, "colour": p.colour,
                            "weight": SyntheticWorld.weights[p.weight], "tier": SyntheticWorld.tiers[p.tier],
                            "features": p.features.joined(separator: "|")]
            itemIDs.append(try w.putItem(f))
        }
        // Standardise utilities with the population's mean and spread so ratings use the scale.
        var gUsers = root.fork("users")
        let tastes = (0..<configuration.users).map { _ in taste(&gUsers) }
        var sum = 0.0, sumSq = 0.0, n = 0.0
        for t in tastes.prefix(50) { for p in catalog { let u = SyntheticWorld.utility(p, t); sum += u; sumSq += u * u; n += 1 } }
        let mean = sum / n, sd = max((sumSq / n - mean * mean).squareRoot(), 1e-6)
        var gRatings = root.fork("ratings")
        let t0: Int64 = 1_700_000_000
        for (uIndex, t) in tastes.enumerated() {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            let model: [String: String] = [
                "categories": t.categories.map { SyntheticWorld.categories[$0].name }.joined(separator: "|"),
                "features": t.features.joined(separator: "|"), "tier": SyntheticWorld.tiers[t.tier],
                "weight": SyntheticWorld.weights[t.weight], "disliked_feature": t.dislikedFeature,
                "avoidance_statement": SyntheticWorld.avoidance(t),
                "utility_mean": String(mean), "utility_sd": String(sd), "noise": String(configuration.noise),
            ]
            let user = try w.putUser(externalID: "u\(uIndex + 1)", attributes: model, preference: SyntheticWorld.statement(t))
            let count = configuration.ratingsPerUser.lowerBound + gRatings.nextIndex(configuration.ratingsPerUser.count)
            var chosen = Set<Int>()
            var order: [Int] = []
            let favourites = t.categories.flatMap { byCategory[$0] }
            while order.count < count {
                let k = (!favourites.isEmpty && gRatings.nextUnit() < configuration.exposureBias)
                    ? favourites[gRatings.nextIndex(favourites.count)] : gRatings.nextIndex(catalog.count)
                if chosen.insert(k).inserted { order.append(k) }
                if chosen.count == catalog.count { break }
            }
            for (step, k) in order.enumerated() {
                let z = (SyntheticWorld.utility(catalog[k], t) - mean) / sd + configuration.noise * gRatings.nextGaussian()
                let rating = min(5, max(1, (3 + 1.2 * z).rounded()))
                try w.addRating(user: user, item: itemIDs[k], value: rating,
                                timestamp: t0 + Int64(uIndex) * 10 + Int64(step) * 86_400, file: "synthetic", line: 0)
            }
            w.progressed(bytesInFile: 0)
        }
    }
}
