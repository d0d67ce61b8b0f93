import Foundation
import RecKit
import RecNumerics

/// A learned description distance: a bilinear form s(r, x) = rᵀ W x + b over frozen sentence
/// embeddings of a rationale r and an item text x, fitted on the training part of the split.
///
/// **Why.** On ml-100k ELLM's raw cosine reached ROC-AUC 0.548 and popularity 0.618
/// (`Docs/results.md`): the cosine asks "is this item *about* what the rationale says", which is
/// not the same question as "will a user who holds this rationale rate it highly". A bilinear form
/// can learn which directions of item space the holders of a rationale reward (including that
/// some items are liked by nearly everyone), from labels the library already has and never uses:
/// the user's own training ratings.
///
/// **What it fits.** Every (rationale of user u, training item u rated) pair is one example,
/// labelled liked (rating ≥ the dataset's like threshold) or not; the model is a logistic
/// regression on s, with an L2 penalty λ‖W‖². The fit is a fixed number of full-batch Adam steps
/// from W = 0 (80 by default: the early stop regularises too, which is why λ = 0 is in the sweep's
/// grid), so it is deterministic, and no random choice is made unless there are more than
/// `maximumPairs` user-item examples (then a seeded subsample of users' items is drawn). Only
/// `ScoringContext.users` — built from the training part — is read: the held-out ratings never
/// reach the fit (`TrainDistanceCLITests` rewrites them in a store and gets a byte-identical
/// checkpoint).
///
/// Each rationale keeps its own column, so ELLM's per-rationale threshold and "achieved"
/// filtering work as for the cosine. `rec-data train-distance` writes the fitted form as a
/// safetensors checkpoint (`W`, `b`, with the fit's settings as metadata).
public struct LearnedBilinear: TunableDistance {
    /// L2 penalty on W (per example, as the loss is a mean).
    public let l2: Double
    public let iterations: Int
    public let learningRate: Double
    /// Upper bound on user-item examples (each counted once, whatever the rationales).
    public let maximumPairs: Int
    /// Put the user's history beside each rationale: s = rᵀW₁x + cᵀW₂x + b, c the unit centroid of
    /// the user's liked training items (`learned-both`). Against `learned-history` it measures
    /// what the rationale adds to the history it was written from.
    public let withHistory: Bool
    /// The fitted form, once prepared.
    public let fitted: Fit?

    /// A fitted bilinear form: `weights` is (left width) × d, the left side being the rationale
    /// (d × d) or, for `learned-both`, the rationale beside the history (2d × d).
    public struct Fit: Sendable, Equatable {
        public var weights: Matrix
        public var bias: Float
        /// Examples (rationale, item) the fit used, and the user-item pairs behind them.
        public var examples: Int
        public var userItemPairs: Int
        /// Mean logistic loss (without the penalty) at the start and the end of the fit.
        public var initialLoss: Double
        public var finalLoss: Double
        public init(weights: Matrix, bias: Float, examples: Int, userItemPairs: Int, initialLoss: Double, finalLoss: Double) {
            self.weights = weights; self.bias = bias; self.examples = examples
            self.userItemPairs = userItemPairs; self.initialLoss = initialLoss; self.finalLoss = finalLoss
        }
    }

    public init(l2: Double = LearnedBilinear.defaultL2, iterations: Int = 80, learningRate: Double = 0.05, maximumPairs: Int = 400_000,
                withHistory: Bool = false) {
        self.l2 = l2; self.iterations = iterations; self.learningRate = learningRate
        self.maximumPairs = maximumPairs; self.withHistory = withHistory; self.fitted = nil
    }

    /// A metric from a fit made elsewhere (a checkpoint); `prepared(for:)` keeps it as it is.
    public init(fit: Fit, l2: Double = LearnedBilinear.defaultL2, withHistory: Bool = false) {
        self.l2 = l2; self.iterations = 0; self.learningRate = 0; self.maximumPairs = 0
        self.withHistory = withHistory; self.fitted = fit
    }

    public var name: String {
        let base = withHistory ? "learned-both" : "learned-bilinear"
        return l2 == LearnedBilinear.defaultL2 ? base : "\(base):l2=\(Self.format(l2))"
    }
    public var summary: String {
        withHistory ? "bilinear form over [rationale, liked-items centroid] and the item, fitted on training ratings (λ = \(Self.format(l2)))"
            : "bilinear form rᵀWx over sentence embeddings, fitted on training ratings (λ = \(Self.format(l2)))"
    }
    public var needs: MetricNeeds { [.sentenceEmbeddings, .rationales] }
    public var range: ClosedRange<Double>? { nil }

    public var sweepVariants: [any DescriptionDistance] {
        LearnedBilinear.l2Grid.map { LearnedBilinear(l2: $0, iterations: iterations, learningRate: learningRate, maximumPairs: maximumPairs, withHistory: withHistory) }
    }

    /// The penalties a sweep tries, the default first.
    static let l2Grid: [Double] = [1e-5, 0, 1e-6, 1e-4, 1e-3]
    /// The penalty of the unsuffixed name.
    public static let defaultL2 = 1e-5

    static func format(_ x: Double) -> String { String(format: "%g", x) }

    public func prepared(for context: ScoringContext) throws -> any DescriptionDistance {
        try context.check(self)
        if fitted != nil { return self }
        let fit = try LearnedBilinear.fit(context: context, l2: l2, iterations: iterations, learningRate: learningRate,
                                          maximumPairs: maximumPairs, left: withHistory ? .rationalesWithHistory : .rationales, metric: name)
        return LearnedBilinear(prepared: fit, from: self)
    }

    private init(prepared fit: Fit, from m: LearnedBilinear) {
        l2 = m.l2; iterations = m.iterations; learningRate = m.learningRate; maximumPairs = m.maximumPairs
        withHistory = m.withHistory
        fitted = fit
    }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard let f = fitted else { preconditionFailure("\(name) used before prepared(for:)") }
        // (R W) Xᵀ + b: rationales × items, returned items × rationales.
        var left = context.rationaleEmbeddings(user.rationales, metric: name)
        if withHistory {
            var local = user
            local.rationales = 0..<left.rows
            left = rationalesBesideHistory(left, users: [local], items: context.catalog.embeddings!)
        }
        let rw = Kernels.gemm(left, f.weights)
        var s = Kernels.gemm(context.itemEmbeddings(items, metric: name), rw, transposeB: true)
        for i in s.storage.indices { s.storage[i] += f.bias }
        return s
    }
}

/// Why a learned metric could not be fitted.
public enum LearnedDistanceError: Error, CustomStringConvertible, Equatable {
    case noTrainingLabels(metric: String)
    case oneClassOnly(metric: String, liked: Bool)
    case nonFinite(metric: String, iteration: Int)

    public var description: String {
        switch self {
        case let .noTrainingLabels(m):
            return "metric '\(m)' is fitted on users' training ratings, but no user with rationales has any (is the split's training part empty?)"
        case let .oneClassOnly(m, liked):
            return "metric '\(m)' needs liked and not-liked training ratings; every training rating is \(liked ? "liked" : "not liked")"
        case let .nonFinite(m, it):
            return "metric '\(m)': the fit produced a non-finite loss at iteration \(it) (lower the learning rate or raise l2)"
        }
    }
}

extension LearnedBilinear {
    /// One user's training examples: their rationale rows and their rated items with labels.
    struct UserExamples {
        var rationales: Range<Int>
        var items: [Int]
        var labels: [Float]
    }

    /// The training examples, from `context.users` only (training liked / not-liked items). When
    /// the user-item pairs exceed `maximumPairs`, each user keeps a seeded share of their items.
    static func examples(context: ScoringContext, maximumPairs: Int) -> [UserExamples] {
        let total = context.users.reduce(0) { $0 + ($1.rationales.isEmpty ? 0 : $1.likedItems.count + $1.dislikedItems.count) }
        let keep = total <= maximumPairs ? 1.0 : Double(maximumPairs) / Double(total)
        let base = SeededGenerator(seed: context.seed).fork("learned-bilinear:subsample")
        var out: [UserExamples] = []
        for u in context.users where !u.rationales.isEmpty {
            var items = u.likedItems + u.dislikedItems
            var labels = [Float](repeating: 1, count: u.likedItems.count) + [Float](repeating: 0, count: u.dislikedItems.count)
            if keep < 1 {
                var g = base.fork(String(u.userID))
                var kept: [Int] = [], keptLabels: [Float] = []
                for (i, y) in zip(items, labels) where Double(g.nextUnitFloat()) < keep { kept.append(i); keptLabels.append(y) }
                (items, labels) = (kept, keptLabels)
            }
            if !items.isEmpty { out.append(UserExamples(rationales: u.rationales, items: items, labels: labels)) }
        }
        return out
    }

    /// Fits (W, b) by full-batch Adam on the mean logistic loss plus λ‖W‖².
    ///
    /// Per iteration: Z = R W for every rationale (one GEMM), then per user the scores
    /// S_u = Z_u X_uᵀ + b and the loss gradient G_u = (σ(S_u) − Y_u) X_u; finally ∇W = Rᵀ G / n + 2λW.
    /// - Parameter left: what stands on the left of the form. `.rationales` is the metric; the
    ///   controls fit the same form on the same examples with the same optimiser, with each user's
    ///   rationales replaced by one row: a constant unit vector e₁ (`.constant`: s = (row 0 of W)·x
    ///   + b, a model of the item alone) or the unit centroid of the user's liked training items
    ///   (`.likedCentroid`: the user's history in the rationale's place).
    static func fit(context: ScoringContext, l2: Double, iterations: Int, learningRate: Double, maximumPairs: Int,
                    left: LeftSide = .rationales, metric: String = "learned-bilinear") throws -> Fit {
        guard let itemsE = context.catalog.embeddings else { throw MetricError.missingInput(metric: metric, what: "item sentence embeddings") }
        var users = examples(context: context, maximumPairs: maximumPairs)
        let ratsE: Matrix
        switch left {
        case .rationales:
            guard let r = context.rationales.embeddings else { throw MetricError.missingInput(metric: metric, what: "rationale sentence embeddings") }
            ratsE = r
        case .constant:
            var e = Matrix(rows: 1, cols: itemsE.cols)
            e.storage[0] = 1
            ratsE = e
            for u in users.indices { users[u].rationales = 0..<1 }
        case .rationalesWithHistory:
            guard let r = context.rationales.embeddings else { throw MetricError.missingInput(metric: metric, what: "rationale sentence embeddings") }
            ratsE = rationalesBesideHistory(r, users: context.users, items: itemsE)
        case .likedCentroid:
            ratsE = likedCentroids(context.users.filter { !$0.rationales.isEmpty }.map(\.likedItems), items: itemsE)
            // `examples` keeps users in context order (those with rationales and examples); map each
            // to its own centroid row.
            let rowOf = Dictionary(uniqueKeysWithValues: context.users.filter { !$0.rationales.isEmpty }.enumerated().map { ($1.rationales.lowerBound, $0) })
            for u in users.indices { let k = rowOf[users[u].rationales.lowerBound]!; users[u].rationales = k..<(k + 1) }
        }
        let pairs = users.reduce(0) { $0 + $1.items.count }
        let n = users.reduce(0) { $0 + $1.items.count * $1.rationales.count }
        guard n > 0 else { throw LearnedDistanceError.noTrainingLabels(metric: metric) }
        let positives = users.reduce(0.0) { $0 + Double($1.rationales.count) * Double($1.labels.reduce(0, +)) }
        guard positives > 0, positives < Double(n) else { throw LearnedDistanceError.oneClassOnly(metric: metric, liked: positives > 0) }
        let d = itemsE.cols
        let itemBlocks = users.map { gather(itemsE, $0.items) }
        var w = Matrix(rows: ratsE.cols, cols: d)  // left width × item width
        var b = Float(log(positives / (Double(n) - positives)))  // the base rate's logit
        var adamW = Adam(count: ratsE.cols * d), adamB = Adam(count: 1)
        var initialLoss = 0.0, loss = 0.0
        // Rationales that share a text share an embedding row (the aspect reasoner's 3,759 rationales
        // on ml-100k are a few hundred texts): both d × d products run over the distinct rows.
        let (distinct, distinctOf) = distinctRows(ratsE)
        for it in 0...iterations {
            let z = Kernels.gemm(distinct, w)  // distinct rationales × d
            var g = Matrix(rows: distinct.rows, cols: d)  // Σ over a rationale's examples of (p − y) x
            var gb = 0.0
            loss = 0
            // The loss itself is only reported (first and last iteration); the gradient needs one
            // exp per example, the loss a log1p more.
            let reportLoss = it == 0 || it == iterations
            for (u, ex) in users.enumerated() {
                let rows = ex.rationales.map { distinctOf[$0] }
                var s = Kernels.gemm(gather(z, rows), itemBlocks[u], transposeB: true)  // R_u × n_u
                let cols = ex.items.count
                for r in 0..<ex.rationales.count {
                    for c in 0..<cols {
                        let logit = s.storage[r * cols + c] + b, y = ex.labels[c]
                        let e = expf(-abs(logit))
                        let p = logit >= 0 ? 1 / (1 + e) : e / (1 + e)
                        // log(1 + e^logit) − y·logit, stably
                        if reportLoss { loss += Double(max(logit, 0) + log1pf(e) - y * logit) }
                        s.storage[r * cols + c] = p - y
                        gb += Double(p - y)
                    }
                }
                let gu = Kernels.gemm(s, itemBlocks[u])  // R_u × d
                for (r, k) in rows.enumerated() {
                    for c in 0..<d { g.storage[k * d + c] += gu.storage[r * d + c] }
                }
            }
            loss /= Double(n)
            guard loss.isFinite, gb.isFinite else { throw LearnedDistanceError.nonFinite(metric: metric, iteration: it) }
            if it == 0 { initialLoss = loss }
            if it == iterations { break }
            var grad = Kernels.gemm(distinct, transposeA: true, g, alpha: 1 / Float(n))  // d × d
            for k in grad.storage.indices { grad.storage[k] += Float(2 * l2) * w.storage[k] }
            adamW.step(&w.storage, gradient: grad.storage, learningRate: learningRate)
            var bb = [b]
            adamB.step(&bb, gradient: [Float(gb / Double(n))], learningRate: learningRate)
            b = bb[0]
        }
        return Fit(weights: w, bias: b, examples: n, userItemPairs: pairs, initialLoss: initialLoss, finalLoss: loss)
    }
}

/// What stands on the left of a learned bilinear form (see `LearnedBilinear.fit`).
enum LeftSide: Sendable { case rationales, rationalesWithHistory, constant, likedCentroid }

/// Every rationale row followed by its user's unit liked-items centroid: rows [r_j, c_u], 2d wide.
func rationalesBesideHistory(_ rationales: Matrix, users: [UserQuery], items: Matrix) -> Matrix {
    let d = rationales.cols, di = items.cols
    var out = Matrix(rows: rationales.rows, cols: d + di)
    for u in users where !u.rationales.isEmpty {
        let c = likedCentroids([u.likedItems], items: items)
        for j in u.rationales {
            for k in 0..<d { out.storage[j * (d + di) + k] = rationales.storage[j * d + k] }
            for k in 0..<di { out.storage[j * (d + di) + d + k] = c.storage[k] }
        }
    }
    return out
}


/// Adam (Kingma & Ba 2015) with the usual defaults, for the small full-batch fits of metrics.
struct Adam {
    var m: [Double], v: [Double]
    var t = 0
    init(count: Int) { m = [Double](repeating: 0, count: count); v = m }
    mutating func step(_ x: inout [Float], gradient g: [Float], learningRate lr: Double,
                       beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8) {
        t += 1
        let c1 = 1 - pow(beta1, Double(t)), c2 = 1 - pow(beta2, Double(t))
        for k in x.indices {
            let gk = Double(g[k])
            m[k] = beta1 * m[k] + (1 - beta1) * gk
            v[k] = beta2 * v[k] + (1 - beta2) * gk * gk
            x[k] -= Float(lr * (m[k] / c1) / ((v[k] / c2).squareRoot() + eps))
        }
    }
}


/// Controls for `learned-bilinear`: the same logistic fit on the same training examples, with the
/// rationale taken away (`learned-item`) or replaced by the user's history (`learned-history`).
///
/// **Why.** `learned-bilinear` learns from training ratings, so it can beat the cosine without
/// the rationale carrying anything. `learned-item` scores wᵀx + b: how liked the item is in general,
/// judged from its description. `learned-history` scores cᵀWx + b with c the unit centroid of the
/// user's liked training items, the very items the rationales were written from. Paired against
/// these on the same held-out pairs, `learned-bilinear` shows what the rationale adds inside the
/// learned form over the description alone and over the history it summarises.
public struct LearnedControl: TunableDistance {
    public enum Kind: String, Sendable { case item, history }
    public let kind: Kind
    public let l2: Double
    public let iterations: Int
    public let learningRate: Double
    public let maximumPairs: Int
    let fitted: LearnedBilinear.Fit?

    public init(_ kind: Kind, l2: Double = LearnedBilinear.defaultL2, iterations: Int = 80, learningRate: Double = 0.05, maximumPairs: Int = 400_000) {
        self.kind = kind; self.l2 = l2; self.iterations = iterations; self.learningRate = learningRate
        self.maximumPairs = maximumPairs; fitted = nil
    }
    private init(_ m: LearnedControl, fit: LearnedBilinear.Fit) {
        kind = m.kind; l2 = m.l2; iterations = m.iterations; learningRate = m.learningRate; maximumPairs = m.maximumPairs
        fitted = fit
    }

    public var name: String { l2 == LearnedBilinear.defaultL2 ? "learned-\(kind.rawValue)" : "learned-\(kind.rawValue):l2=\(LearnedBilinear.format(l2))" }
    public var summary: String {
        switch kind {
        case .item: return "control: logistic model on the item's embedding alone, fitted on training ratings (λ = \(LearnedBilinear.format(l2)))"
        case .history: return "control: learned-bilinear with the user's liked-items centroid in place of the rationales (λ = \(LearnedBilinear.format(l2)))"
        }
    }
    public var needs: MetricNeeds { [.sentenceEmbeddings] }
    public var range: ClosedRange<Double>? { nil }

    public var sweepVariants: [any DescriptionDistance] {
        LearnedBilinear.l2Grid.map { LearnedControl(kind, l2: $0, iterations: iterations, learningRate: learningRate, maximumPairs: maximumPairs) }
    }

    public func prepared(for context: ScoringContext) throws -> any DescriptionDistance {
        try context.check(self)
        if fitted != nil { return self }
        let fit = try LearnedBilinear.fit(context: context, l2: l2, iterations: iterations, learningRate: learningRate,
                                          maximumPairs: maximumPairs, left: kind == .item ? .constant : .likedCentroid, metric: name)
        return LearnedControl(self, fit: fit)
    }

    public func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        guard let f = fitted else { preconditionFailure("\(name) used before prepared(for:)") }
        let x = context.itemEmbeddings(items, metric: name)
        var left: Matrix
        switch kind {
        case .item:
            left = Matrix(rows: 1, cols: x.cols)
            left.storage[0] = 1
        case .history:
            left = likedCentroids([user.likedItems], items: context.catalog.embeddings!)
        }
        var s = Kernels.gemm(x, Kernels.gemm(left, f.weights), transposeB: true)  // items × 1
        for i in s.storage.indices { s.storage[i] += f.bias }
        return s
    }
}
