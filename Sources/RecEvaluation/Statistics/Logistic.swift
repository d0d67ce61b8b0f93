import Foundation
import RecKit

/// A fitted logistic regression: `logit P(y) = intercept + Σ coefficients[j] · x_j`.
public struct LogisticModel: Sendable, Hashable, Codable {
    public var intercept: Double
    public var coefficients: [Double]

    public init(intercept: Double, coefficients: [Double]) {
        self.intercept = intercept; self.coefficients = coefficients
    }

    /// The linear predictor (log-odds) of one observation; monotone in the probability, so it is
    /// all an AUC needs.
    public func logOdds(_ x: [Double]) -> Double {
        var s = intercept
        for (b, v) in zip(coefficients, x) { s += b * v }
        return s
    }
}

/// Logistic regression by Newton–Raphson with step halving, for the handful of features the
/// popularity adjustment needs (one or two columns plus an intercept).
public enum LogisticRegression {
    /// Maximises Σ log-likelihood − ridge/2 · Σ β_j² (the intercept is not penalised). The small
    /// default ridge only matters when the classes are separable, where the unpenalised maximum
    /// does not exist (a held-out sample where popularity alone orders every liked item first);
    /// on standardised features it moves ordinary fits by far less than their standard errors.
    ///
    /// - Parameters:
    ///   - columns: the features, one array per feature, each one value per observation.
    ///   - labels: the outcome of each observation.
    public static func fit(columns: [[Double]], labels: [Bool], ridge: Double = 1e-3, maxIterations: Int = 100) -> LogisticModel {
        let n = labels.count
        let p = columns.count + 1
        for c in columns { precondition(c.count == n, "one feature value per observation") }
        func x(_ i: Int, _ j: Int) -> Double { j == 0 ? 1 : columns[j - 1][i] }
        func objective(_ beta: [Double]) -> Double {
            var ll = 0.0
            for i in 0..<n {
                var eta = 0.0
                for j in 0..<p { eta += beta[j] * x(i, j) }
                // log σ(η) for y = 1, log σ(−η) for y = 0, in a form that does not overflow.
                let z = labels[i] ? eta : -eta
                ll -= z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z))
            }
            var pen = 0.0
            for j in 1..<p { pen += beta[j] * beta[j] }
            return ll - ridge / 2 * pen
        }
        var beta = [Double](repeating: 0, count: p)
        // Start the intercept at the log-odds of the base rate: one Newton step less, and exact for
        // an intercept-only model.
        let positives = Double(labels.filter { $0 }.count)
        if positives > 0 && positives < Double(n) { beta[0] = log(positives / (Double(n) - positives)) }
        var current = objective(beta)
        for _ in 0..<maxIterations {
            var grad = [Double](repeating: 0, count: p)
            var hess = [Double](repeating: 0, count: p * p)
            for i in 0..<n {
                var eta = 0.0
                for j in 0..<p { eta += beta[j] * x(i, j) }
                let mu = 1 / (1 + exp(-eta))
                let r = (labels[i] ? 1 : 0) - mu
                let w = mu * (1 - mu)
                for j in 0..<p {
                    let xj = x(i, j)
                    grad[j] += r * xj
                    for k in 0...j { hess[j * p + k] += w * xj * x(i, k) }
                }
            }
            for j in 1..<p { grad[j] -= ridge * beta[j]; hess[j * p + j] += ridge }
            for j in 0..<p { for k in 0..<j { hess[k * p + j] = hess[j * p + k] } }
            // A tiny diagonal keeps the solve defined when a fold has one class (w ≈ 0 everywhere).
            for j in 0..<p { hess[j * p + j] += 1e-12 }
            guard let step = solve(hess, grad, p) else { break }
            // Step halving: Newton's full step can overshoot far from the optimum; a step that
            // improves nothing ends the fit at the current (best) point.
            var t = 1.0
            var accepted: [Double]?
            for _ in 0..<30 {
                let next = zip(beta, step).map { $0 + t * $1 }
                let value = objective(next)
                if value > current { accepted = next; current = value; break }
                t /= 2
            }
            guard let next = accepted else { break }
            let change = step.map { abs($0) * t }.max() ?? 0
            beta = next
            if change < 1e-10 { break }
        }
        return LogisticModel(intercept: beta[0], coefficients: Array(beta.dropFirst()))
    }

    /// Solves the p × p system `a · x = b` (row-major `a`) by Gaussian elimination with partial
    /// pivoting; nil when singular.
    static func solve(_ a: [Double], _ b: [Double], _ p: Int) -> [Double]? {
        var m = a, v = b
        for col in 0..<p {
            var pivot = col
            for r in col..<p where abs(m[r * p + col]) > abs(m[pivot * p + col]) { pivot = r }
            guard abs(m[pivot * p + col]) > 0, m[pivot * p + col].isFinite else { return nil }
            if pivot != col {
                for k in 0..<p { m.swapAt(col * p + k, pivot * p + k) }
                v.swapAt(col, pivot)
            }
            for r in (col + 1)..<p {
                let f = m[r * p + col] / m[col * p + col]
                if f == 0 { continue }
                for k in col..<p { m[r * p + k] -= f * m[col * p + k] }
                v[r] -= f * v[col]
            }
        }
        var x = [Double](repeating: 0, count: p)
        for r in stride(from: p - 1, through: 0, by: -1) {
            var s = v[r]
            for k in (r + 1)..<p { s -= m[r * p + k] * x[k] }
            x[r] = s / m[r * p + r]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}

/// Cross-fitting over users: every observation gets a prediction from a model that never saw its
/// user, so a model's in-sample optimism cannot inflate the AUC of its predictions.
public enum CrossFitting {
    /// The fold (0..<folds) of each user: a seeded shuffle of the users dealt round-robin, so fold
    /// sizes differ by at most one user and the assignment depends on the seed alone.
    public static func userFolds(userCount: Int, folds: Int, seed: UInt64) -> [Int] {
        precondition(folds >= 1)
        var g = SeededGenerator(seed: seed).fork("cross-fit-folds")
        var order = Array(0..<userCount)
        if userCount > 1 {
            for i in stride(from: userCount - 1, to: 0, by: -1) { order.swapAt(i, g.nextIndex(i + 1)) }
        }
        var fold = [Int](repeating: 0, count: userCount)
        for (position, u) in order.enumerated() { fold[u] = position % folds }
        return fold
    }

    /// Out-of-fold log-odds of a logistic model of `labels` on `columns`: for each fold, the model
    /// is fitted on the other folds' observations, with every feature standardised by the mean and
    /// standard deviation of those fitting observations (so nothing of the predicted fold enters
    /// the scaling), and predicts the fold's observations.
    ///
    /// - Parameters:
    ///   - userOfObservation: the user index of each observation.
    ///   - foldOfUser: from `userFolds`.
    public static func outOfFoldLogOdds(columns: [[Double]], labels: [Bool], userOfObservation: [Int],
                                        foldOfUser: [Int], folds: Int, ridge: Double = 1e-3) -> [Double] {
        outOfFold(columns: columns, labels: labels, userOfObservation: userOfObservation, foldOfUser: foldOfUser,
                  folds: folds, ridge: ridge, withFoldConstant: true)
    }

    /// The out-of-fold log-odds without each fold's constant: Σ_j (β_j / sd_j) · x_j, the fitted
    /// slopes on the unstandardised features. Within a fold this orders observations exactly as
    /// the log-odds do; across folds it drops the intercept and centring, which hold nothing about
    /// the predicted users but the base rate of the *other* folds. Pooled over folds, those
    /// constants rank a fold with many liked pairs low (its complement has few), an anti-signal
    /// that drags a weak model's pooled AUC below 0.5 (Forman & Scholz 2010); this is what the
    /// incremental AUC is computed from.
    public static func outOfFoldScores(columns: [[Double]], labels: [Bool], userOfObservation: [Int],
                                       foldOfUser: [Int], folds: Int, ridge: Double = 1e-3) -> [Double] {
        outOfFold(columns: columns, labels: labels, userOfObservation: userOfObservation, foldOfUser: foldOfUser,
                  folds: folds, ridge: ridge, withFoldConstant: false)
    }

    static func outOfFold(columns: [[Double]], labels: [Bool], userOfObservation: [Int], foldOfUser: [Int], folds: Int,
                          ridge: Double, withFoldConstant: Bool) -> [Double] {
        let n = labels.count
        var out = [Double](repeating: 0, count: n)
        let foldOf = userOfObservation.map { foldOfUser[$0] }
        for f in 0..<folds {
            let fitting = (0..<n).filter { foldOf[$0] != f }
            let predicted = (0..<n).filter { foldOf[$0] == f }
            if predicted.isEmpty { continue }
            var scaled: [[Double]] = []
            var centre: [Double] = [], spread: [Double] = []
            for c in columns {
                let values = fitting.map { c[$0] }
                let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
                let variance = values.isEmpty ? 0 : values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
                // A constant feature on the fitting folds carries nothing: scale 1 leaves it at 0.
                let sd = variance > 0 ? variance.squareRoot() : 1
                centre.append(mean); spread.append(sd)
                scaled.append(values.map { ($0 - mean) / sd })
            }
            let model = LogisticRegression.fit(columns: scaled, labels: fitting.map { labels[$0] }, ridge: ridge)
            for i in predicted {
                if withFoldConstant {
                    out[i] = model.logOdds(columns.indices.map { (columns[$0][i] - centre[$0]) / spread[$0] })
                } else {
                    var s = 0.0
                    for j in columns.indices { s += model.coefficients[j] / spread[j] * columns[j][i] }
                    out[i] = s
                }
            }
        }
        return out
    }

}

/// Spearman's partial rank correlation of x and y given z: the Pearson correlation of the
/// residuals of rank(x) ~ rank(z) and rank(y) ~ rank(z) (least squares with intercept), which is
/// the first-order partial correlation of the three rank correlations,
/// (ρ_xy − ρ_xz ρ_yz) / √((1 − ρ_xz²)(1 − ρ_yz²)). The identity holds for weighted ranks and
/// weighted least squares as well, so the user bootstrap evaluates it from three weighted
/// Spearman ρ.
public struct UserGroupedPartialSpearman: Sendable {
    let xy: UserGroupedPairs
    let xz: UserGroupedPairs
    let yz: UserGroupedPairs

    /// `groups[u]` holds user u's observations of x, y and the control z.
    public init(_ groups: [(x: [Double], y: [Double], z: [Double])]) {
        xy = UserGroupedPairs(groups.map { (x: $0.x, y: $0.y) })
        xz = UserGroupedPairs(groups.map { (x: $0.x, y: $0.z) })
        yz = UserGroupedPairs(groups.map { (x: $0.y, y: $0.z) })
    }

    public func estimate(_ w: UserWeights) -> Estimate {
        Self.combine(xy.spearman(w), xz.spearman(w), yz.spearman(w))
    }

    /// The partial correlation from the three pairwise correlations.
    public static func combine(_ rxy: Estimate, _ rxz: Estimate, _ ryz: Estimate) -> Estimate {
        guard let a = rxy.value else { return rxy }
        guard let b = rxz.value else { return rxz }
        guard let c = ryz.value else { return ryz }
        let d = (1 - b * b) * (1 - c * c)
        guard d > 1e-15 else { return .undefined(reason: "x or y is a monotone function of the control") }
        return .checked(min(1, max(-1, (a - b * c) / d.squareRoot())), else: "non-finite partial correlation")
    }
}
