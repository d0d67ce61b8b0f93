import RecKit

/// Biased matrix factorisation r̂(u, i) = μ + b_u + b_i + p_u·q_i (Koren, Bell & Volinsky 2009),
/// fitted by seeded SGD on the training split. The simulator answers with it where a user has no
/// held-out rating for the recommended item.
public struct MatrixFactorization: Sendable, Codable, Hashable {
    public struct Configuration: Sendable, Codable, Hashable {
        public var factors = 32
        public var epochs = 30
        public var learningRate = 0.01
        public var regularization = 0.05
        public var initScale = 0.1
        public init() {}
    }

    public let configuration: Configuration
    public private(set) var globalMean: Double
    public private(set) var userBias: [Double]
    public private(set) var itemBias: [Double]
    public private(set) var userFactors: [Double]
    public private(set) var itemFactors: [Double]
    public let users: Int
    public let items: Int

    /// Fits on `(user, item, rating)` triples (user and item as dense indices).
    public init(ratings: [(user: Int, item: Int, rating: Double)], users: Int, items: Int,
                configuration: Configuration = Configuration(), seed: UInt64) {
        self.configuration = configuration
        self.users = users
        self.items = items
        let k = configuration.factors
        var g = SeededGenerator(seed: seed).fork("mf")
        globalMean = ratings.isEmpty ? 0 : ratings.reduce(0) { $0 + $1.rating } / Double(ratings.count)
        userBias = [Double](repeating: 0, count: users)
        itemBias = [Double](repeating: 0, count: items)
        userFactors = (0..<(users * k)).map { _ in g.nextGaussian() * configuration.initScale }
        itemFactors = (0..<(items * k)).map { _ in g.nextGaussian() * configuration.initScale }
        var order = Array(ratings.indices)
        let lr = configuration.learningRate, reg = configuration.regularization
        for _ in 0..<configuration.epochs {
            order.shuffle(using: &g)
            for n in order {
                let (u, i, r) = ratings[n]
                let e = r - predict(user: u, item: i)
                userBias[u] += lr * (e - reg * userBias[u])
                itemBias[i] += lr * (e - reg * itemBias[i])
                for f in 0..<k {
                    let pu = userFactors[u * k + f], qi = itemFactors[i * k + f]
                    userFactors[u * k + f] += lr * (e * qi - reg * pu)
                    itemFactors[i * k + f] += lr * (e * pu - reg * qi)
                }
            }
        }
    }

    /// Unclamped prediction.
    public func predict(user u: Int, item i: Int) -> Double {
        let k = configuration.factors
        var s = globalMean + userBias[u] + itemBias[i]
        for f in 0..<k { s += userFactors[u * k + f] * itemFactors[i * k + f] }
        return s
    }

    /// Root mean squared error of predictions clamped to `range`.
    public func rmse(_ ratings: [(user: Int, item: Int, rating: Double)], clampedTo range: ClosedRange<Double>) -> Double {
        guard !ratings.isEmpty else { return .nan }
        let se = ratings.reduce(0.0) { acc, t in
            let p = min(range.upperBound, max(range.lowerBound, predict(user: t.user, item: t.item)))
            return acc + (p - t.rating) * (p - t.rating)
        }
        return (se / Double(ratings.count)).squareRoot()
    }
}
