/// ROC analysis of scores against binary labels.
public enum ROC {
    /// Area under the ROC curve with ties counted half (the Mann–Whitney U statistic divided by
    /// n₊·n₋, computed from average ranks); equals `sklearn.metrics.roc_auc_score`.
    /// Undefined when either class is empty.
    public static func auc(scores: [Double], labels: [Bool]) -> Estimate {
        LabeledScores(scores: scores, labels: labels).auc()
    }

    /// The ROC curve's vertices, one per distinct score from the highest down, preceded by (0, 0)
    /// at threshold +∞. A vertex at threshold t counts "score ≥ t" as positive. Unlike sklearn's
    /// default (`drop_intermediate=True`) collinear vertices are kept, so each distinct threshold
    /// can be read off the curve. Undefined (nil reason returned) when either class is empty.
    public static func curve(scores: [Double], labels: [Bool]) -> Result<ROCCurve, UndefinedStatistic> {
        LabeledScores(scores: scores, labels: labels).curve()
    }
}

/// A statistic that has no value for the given input, with the reason (used where the result is
/// a structure rather than a number).
public struct UndefinedStatistic: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "undefined (\(reason))" }
}

/// One vertex of a ROC curve.
public struct ROCPoint: Sendable, Hashable {
    public var falsePositiveRate: Double
    public var truePositiveRate: Double
    /// Scores ≥ threshold are called positive; +∞ for the (0, 0) origin.
    public var threshold: Double
}

/// A ROC curve for plotting, with the AUC computed from the same pass.
public struct ROCCurve: Sendable, Hashable {
    public var points: [ROCPoint]
    public var auc: Double
    public var positives: Int
    public var negatives: Int
}

/// Scores and binary labels prepared once (sorted by score), for weighted re-evaluation of the
/// AUC under a user bootstrap (see `PairedSample` for why weights).
public struct LabeledScores: Sendable {
    public let scores: [Double]
    public let labels: [Bool]
    /// Indices by score descending, ties in input order.
    let order: [Int]
    let invalidReason: String?

    public init(scores: [Double], labels: [Bool]) {
        precondition(scores.count == labels.count, "one label per score")
        self.scores = scores
        self.labels = labels
        if scores.contains(where: { $0.isNaN }) {
            invalidReason = "score is NaN"
            order = []
        } else {
            invalidReason = nil
            order = Array(scores.indices).sorted { a, b in
                scores[a] > scores[b] || (scores[a] == scores[b] && a < b)
            }
        }
    }

    /// AUC, optionally with per-observation weights (nil: all 1). Ties between a positive and a
    /// negative count ½, so the result equals the Mann–Whitney U / (n₊ n₋) on the expanded data.
    public func auc(weights w: [Double]? = nil) -> Estimate {
        if let r = invalidReason { return .undefined(reason: r) }
        if let w { precondition(w.count == scores.count, "one weight per score") }
        var pos = 0.0, neg = 0.0
        for i in scores.indices {
            let wi = w?[i] ?? 1
            if labels[i] { pos += wi } else { neg += wi }
        }
        if pos == 0 { return .undefined(reason: "no positive labels") }
        if neg == 0 { return .undefined(reason: "no negative labels") }
        // Walk tie groups from the lowest score up: each positive beats every negative below its
        // group and half-beats the negatives inside it.
        var negBelow = 0.0, u = 0.0
        var i = order.count - 1
        while i >= 0 {
            var j = i, gp = 0.0, gn = 0.0
            while true {
                let wi = w?[order[j]] ?? 1
                if labels[order[j]] { gp += wi } else { gn += wi }
                if j == 0 || scores[order[j - 1]] != scores[order[i]] { break }
                j -= 1
            }
            u += gp * (negBelow + gn / 2)
            negBelow += gn
            i = j - 1
        }
        return .checked(u / (pos * neg), else: "non-finite AUC")
    }

    /// The ROC curve (see `ROC.curve`).
    public func curve() -> Result<ROCCurve, UndefinedStatistic> {
        if let r = invalidReason { return .failure(UndefinedStatistic(reason: r)) }
        let pos = labels.filter { $0 }.count, neg = labels.count - pos
        if pos == 0 { return .failure(UndefinedStatistic(reason: "no positive labels")) }
        if neg == 0 { return .failure(UndefinedStatistic(reason: "no negative labels")) }
        var points = [ROCPoint(falsePositiveRate: 0, truePositiveRate: 0, threshold: .infinity)]
        var tp = 0, fp = 0, area = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j < order.count && scores[order[j]] == scores[order[i]] {
                if labels[order[j]] { tp += 1 } else { fp += 1 }
                j += 1
            }
            let last = points[points.count - 1]
            let p = ROCPoint(falsePositiveRate: Double(fp) / Double(neg),
                             truePositiveRate: Double(tp) / Double(pos),
                             threshold: scores[order[i]])
            area += (p.falsePositiveRate - last.falsePositiveRate) * (p.truePositiveRate + last.truePositiveRate) / 2
            points.append(p)
            i = j
        }
        return .success(ROCCurve(points: points, auc: area, positives: pos, negatives: neg))
    }
}

/// Counts and rates of a binary decision ("predicted positive") against binary truth.
public struct BinaryDecisionMetrics: Sendable, Hashable, Codable {
    public var truePositives: Int
    public var falsePositives: Int
    public var falseNegatives: Int
    public var trueNegatives: Int

    public init(predicted: [Bool], actual: [Bool]) {
        precondition(predicted.count == actual.count, "one prediction per label")
        var tp = 0, fp = 0, fn = 0, tn = 0
        for (p, a) in zip(predicted, actual) {
            switch (p, a) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, true): fn += 1
            case (false, false): tn += 1
            }
        }
        truePositives = tp; falsePositives = fp; falseNegatives = fn; trueNegatives = tn
    }

    public init(truePositives: Int, falsePositives: Int, falseNegatives: Int, trueNegatives: Int) {
        self.truePositives = truePositives; self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives; self.trueNegatives = trueNegatives
    }

    /// tp / (tp + fp); undefined when nothing is predicted positive.
    public var precision: Estimate {
        let d = truePositives + falsePositives
        return d == 0 ? .undefined(reason: "no positive predictions") : .value(Double(truePositives) / Double(d))
    }

    /// tp / (tp + fn); undefined when there are no actual positives.
    public var recall: Estimate {
        let d = truePositives + falseNegatives
        return d == 0 ? .undefined(reason: "no actual positives") : .value(Double(truePositives) / Double(d))
    }

    /// 2tp / (2tp + fp + fn), the harmonic mean of precision and recall; 0 when tp = 0 but something
    /// was predicted or present; undefined only when there are neither predictions nor positives.
    public var f1: Estimate {
        let d = 2 * truePositives + falsePositives + falseNegatives
        return d == 0 ? .undefined(reason: "no positive predictions and no actual positives")
            : .value(Double(2 * truePositives) / Double(d))
    }
}

/// One point of a threshold sweep: the decision "score > threshold" against the labels.
public struct ThresholdPoint: Sendable, Hashable, Codable {
    public var threshold: Double
    public var metrics: BinaryDecisionMetrics
    /// Fraction of observations called positive.
    public var positiveRate: Double
}

public enum ThresholdSweep {
    /// Precision, recall and F1 of "score > t" for each threshold t, in O((n + m) log n).
    /// Strict ">" matches a thresholded reward that pays only above τ.
    public static func evaluate(scores: [Double], labels: [Bool], thresholds: [Double]) -> [ThresholdPoint] {
        precondition(scores.count == labels.count, "one label per score")
        precondition(!scores.contains(where: { $0.isNaN }), "NaN score in a threshold sweep")
        let order = Ranks.sortedIndices(scores)
        // Prefix counts over ascending scores: positives at or below position p.
        var posPrefix = [Int](repeating: 0, count: order.count + 1)
        for (p, i) in order.enumerated() { posPrefix[p + 1] = posPrefix[p] + (labels[i] ? 1 : 0) }
        let sorted = order.map { scores[$0] }
        let totalPos = posPrefix[order.count], n = order.count
        return thresholds.map { t in
            // First position with score > t (binary search for the upper bound).
            var lo = 0, hi = n
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid] > t { hi = mid } else { lo = mid + 1 }
            }
            let predicted = n - lo
            let tp = totalPos - posPrefix[lo]
            let fp = predicted - tp
            let fn = totalPos - tp
            let m = BinaryDecisionMetrics(truePositives: tp, falsePositives: fp, falseNegatives: fn,
                                          trueNegatives: n - predicted - fn)
            return ThresholdPoint(threshold: t, metrics: m, positiveRate: n == 0 ? 0 : Double(predicted) / Double(n))
        }
    }
}
