import RecKit

/// How many times each user appears in one bootstrap resample (1 for every user in the original
/// sample). A statistic of a user-resampled data set is a function of these multiplicities alone,
/// so statistics take `UserWeights` instead of a materialised copy of the data.
public struct UserWeights: Sendable, Hashable {
    /// Multiplicity per user index, as Double so it can scale sums directly.
    public let multiplicity: [Double]

    public init(multiplicity: [Double]) { self.multiplicity = multiplicity }

    /// Every user once: the original sample.
    public static func identity(userCount: Int) -> UserWeights {
        UserWeights(multiplicity: [Double](repeating: 1, count: userCount))
    }

    /// n users drawn with replacement from n.
    public static func resample(userCount n: Int, using g: inout SeededGenerator) -> UserWeights {
        var m = [Double](repeating: 0, count: n)
        for _ in 0..<n { m[g.nextIndex(n)] += 1 }
        return UserWeights(multiplicity: m)
    }

    public var userCount: Int { multiplicity.count }

    /// Per-observation weights, given the user of each observation.
    public func observationWeights(_ userOfObservation: [Int]) -> [Double] {
        userOfObservation.map { multiplicity[$0] }
    }
}

/// Pooled (x, y) pairs of many users, for statistics computed over all pairs (the global
/// correlations of issue 5) and resampled by user.
///
/// A bootstrap evaluates each statistic a thousand times on the same pairs, so everything that does
/// not depend on the weights is laid out once (issue 15): each pair's user in the order every
/// statistic walks, tie-group boundaries, dense ranks. A resample is then one or two sequential
/// passes that read multiplicities straight from `UserWeights` (users, not pairs, in size), with no
/// per-pair weight array and no random access into the pairs. The sums are the same sums of
/// integer weights as the general `PairedSample` methods, so the results are too.
public struct UserGroupedPairs: Sendable {
    public let sample: PairedSample
    /// The user index of each pair.
    public let userOfPair: [Int]
    public let userCount: Int
    /// Dense rank of each pair's x and y among the distinct values (ties share a rank).
    let xGroup: [Int32], xGroups: Int
    let yGroup: [Int32], yGroups: Int
    /// Along `sample.orderXY`: the user, y's dense rank, and whether the position starts a new run
    /// of equal x, and of equal (x, y).
    let xyUser: [Int32]
    let xyRankY: [Int32]
    let xyStartsX: [Bool]
    let xyStartsXY: [Bool]

    /// `groups[u]` holds user u's pairs.
    public init(_ groups: [(x: [Double], y: [Double])]) {
        var x: [Double] = [], y: [Double] = [], users: [Int] = []
        for (u, g) in groups.enumerated() {
            precondition(g.x.count == g.y.count, "user \(u): paired vectors differ in length")
            x += g.x; y += g.y
            users += [Int](repeating: u, count: g.x.count)
        }
        sample = PairedSample(x: x, y: y)
        userOfPair = users
        userCount = groups.count
        (xGroup, xGroups) = Self.denseRanks(x, sample.orderX)
        let (yRanks, yCount) = Self.denseRanks(y, sample.orderY)
        (yGroup, yGroups) = (yRanks, yCount)
        let o = sample.orderXY
        xyUser = o.map { Int32(users[$0]) }
        xyRankY = o.map { yRanks[$0] }
        xyStartsX = o.indices.map { k in k == 0 || x[o[k]] != x[o[k - 1]] }
        xyStartsXY = o.indices.map { k in k == 0 || x[o[k]] != x[o[k - 1]] || y[o[k]] != y[o[k - 1]] }
    }

    /// Dense ranks of `v` along its ascending `order` (empty when the sample is invalid).
    static func denseRanks(_ v: [Double], _ order: [Int]) -> ([Int32], Int) {
        guard order.count == v.count else { return ([], 0) }
        var rank = [Int32](repeating: 0, count: v.count)
        var r: Int32 = -1
        for (p, i) in order.enumerated() {
            if p == 0 || v[i] != v[order[p - 1]] { r += 1 }
            rank[i] = r
        }
        return (rank, Int(r) + 1)
    }

    /// Total weight, or why the statistic is undefined (the checks of `PairedSample`).
    private func total(_ m: [Double]) -> (Double, String?) {
        precondition(m.count == userCount, "one weight per user")
        if let r = sample.invalidReason { return (0, r) }
        var n = 0.0
        for u in userOfPair { n += m[u] }
        return (n, n < 2 ? "fewer than 2 pairs" : nil)
    }

    public func pearson(_ w: UserWeights) -> Estimate {
        let m = w.multiplicity
        if let r = total(m).1 { return .undefined(reason: r) }
        return Self.weightedPearson(sample.x, sample.y, m, userOfPair)
    }

    /// `PairedSample.weightedPearson` with each pair's weight read from its user's multiplicity.
    static func weightedPearson(_ x: [Double], _ y: [Double], _ m: [Double], _ user: [Int]) -> Estimate {
        PairedSample.weightedPearson(x, y) { m[user[$0]] }
    }

    public func spearman(_ w: UserWeights) -> Estimate {
        let m = w.multiplicity
        if let r = total(m).1 { return .undefined(reason: r) }
        // Average ranks per tie group: a group of weight G after weight C has rank C + (G + 1)/2.
        func ranks(_ group: [Int32], _ count: Int) -> [Double] {
            var g = [Double](repeating: 0, count: count)
            for i in group.indices { g[Int(group[i])] += m[userOfPair[i]] }
            var before = 0.0
            for k in 0..<count { let gk = g[k]; g[k] = before + (gk + 1) / 2; before += gk }
            return group.map { g[Int($0)] }
        }
        return Self.weightedPearson(ranks(xGroup, xGroups), ranks(yGroup, yGroups), m, userOfPair)
    }

    /// `PairedSample.kendallTauB(weights:)` in one sequential pass along the (x, y) order.
    public func kendallTauB(_ w: UserWeights) -> Estimate {
        let m = w.multiplicity
        let (total, reason) = self.total(m)
        if let reason { return .undefined(reason: reason) }
        func pairs(_ g: Double) -> Double { g * (g - 1) / 2 }
        var n1 = 0.0, n3 = 0.0, gx = 0.0, gxy = 0.0
        var tree = [Double](repeating: 0, count: yGroups + 1)
        var groupWeight = [Double](repeating: 0, count: yGroups)
        var swaps = 0.0, seen = 0.0
        tree.withUnsafeMutableBufferPointer { t in
            groupWeight.withUnsafeMutableBufferPointer { gw in
                for k in xyUser.indices {
                    // Zero-weight pairs still close tie runs: runs are of equal values, so skipping
                    // them leaves every run's weight as if they had been filtered out.
                    if xyStartsX[k] { n1 += pairs(gx); gx = 0 }
                    if xyStartsXY[k] { n3 += pairs(gxy); gxy = 0 }
                    let wi = m[Int(xyUser[k])]
                    if wi == 0 { continue }
                    gx += wi; gxy += wi
                    let r = Int(xyRankY[k])
                    swaps += wi * (seen - FenwickTree.sum(t, atMost: r))
                    FenwickTree.add(wi, to: t, at: r)
                    seen += wi
                    gw[r] += wi
                }
            }
        }
        n1 += pairs(gx); n3 += pairs(gxy)
        var n2 = 0.0
        for g in groupWeight { n2 += pairs(g) }
        let n0 = pairs(total)
        let dx = n0 - n1, dy = n0 - n2
        if dx <= 0 { return .undefined(reason: "x is constant") }
        if dy <= 0 { return .undefined(reason: "y is constant") }
        let tau = (n0 - n1 - n2 + n3 - 2 * swaps) / (dx.squareRoot() * dy.squareRoot())
        return .checked(min(1, max(-1, tau)), else: "non-finite correlation")
    }
}

/// Pooled scored observations with binary labels, resampled by user (global ROC-AUC). Laid out
/// once along the score order, like `UserGroupedPairs`, so a resample is one sequential pass.
public struct UserGroupedLabels: Sendable {
    public let sample: LabeledScores
    public let userOfObservation: [Int]
    public let userCount: Int
    /// Along `sample.order` (score descending): the user, the label, and whether the position is
    /// the first (highest) of its group of tied scores.
    let orderUser: [Int32]
    let orderLabel: [Bool]
    let orderStartsTie: [Bool]

    public init(_ groups: [(scores: [Double], labels: [Bool])]) {
        var s: [Double] = [], l: [Bool] = [], users: [Int] = []
        for (u, g) in groups.enumerated() {
            precondition(g.scores.count == g.labels.count, "user \(u): one label per score")
            s += g.scores; l += g.labels
            users += [Int](repeating: u, count: g.scores.count)
        }
        sample = LabeledScores(scores: s, labels: l)
        userOfObservation = users
        userCount = groups.count
        let o = sample.order
        orderUser = o.map { Int32(users[$0]) }
        orderLabel = o.map { l[$0] }
        orderStartsTie = o.indices.map { p in p == 0 || s[o[p - 1]] != s[o[p]] }
    }

    /// `LabeledScores.auc(weights:)` in one sequential pass: tie groups from the lowest score up,
    /// each positive beating every negative below its group and half of those inside it.
    public func auc(_ w: UserWeights) -> Estimate {
        let m = w.multiplicity
        precondition(m.count == userCount, "one weight per user")
        if let r = sample.invalidReason { return .undefined(reason: r) }
        var pos = 0.0, neg = 0.0
        for p in orderUser.indices {
            let wi = m[Int(orderUser[p])]
            if orderLabel[p] { pos += wi } else { neg += wi }
        }
        if pos == 0 { return .undefined(reason: "no positive labels") }
        if neg == 0 { return .undefined(reason: "no negative labels") }
        var negBelow = 0.0, u = 0.0, gp = 0.0, gn = 0.0
        var p = orderUser.count - 1
        while p >= 0 {
            let wi = m[Int(orderUser[p])]
            if orderLabel[p] { gp += wi } else { gn += wi }
            if orderStartsTie[p] {
                u += gp * (negBelow + gn / 2)
                negBelow += gn
                gp = 0; gn = 0
            }
            p -= 1
        }
        return .checked(u / (pos * neg), else: "non-finite AUC")
    }
}

/// One precomputed value per user (a per-user NDCG, a per-user Spearman ρ): the sufficient
/// statistic for their mean, so a resample costs O(users).
public struct UserValues: Sendable {
    public let values: [Estimate]

    public init(_ values: [Estimate]) { self.values = values }

    /// The weighted mean over users with a defined value; undefined users are left out of every
    /// resample just as they are left out of the point estimate.
    public func mean(_ w: UserWeights) -> Estimate {
        precondition(w.userCount == values.count, "one weight per user")
        var s = 0.0, n = 0.0
        for (v, m) in zip(values, w.multiplicity) where m > 0 {
            if case .value(let x) = v { s += m * x; n += m }
        }
        return n == 0 ? .undefined(reason: "no user with a defined value") : .value(s / n)
    }

    /// Per-user differences a − b over users where both are defined (for paired tests).
    public static func differences(_ a: UserValues, _ b: UserValues) -> [Double] {
        precondition(a.values.count == b.values.count, "paired per-user values differ in length")
        return zip(a.values, b.values).compactMap { p in
            guard let x = p.0.value, let y = p.1.value else { return nil }
            return x - y
        }
    }
}
