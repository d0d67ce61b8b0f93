import Foundation
import RecEvaluation
import RecRewards

/// `report.json`, schema `rationale-rec/validate-rewards/2` (documented in Docs/report-schema.md).
///
/// Built from plain dictionaries rather than the result types' `Codable` conformances: Swift's
/// synthesised encoding of enums with associated values (`{"value": {"_0": 0.5}}`) is an
/// implementation detail, not a schema a pandas user can read. Every estimate is
/// `{"value": x|null, "reason": "…" (only when undefined), "ci": [lo, hi]|null, "level", "resamples",
/// "undefined_resamples", "method"}`; keys are snake_case; non-finite numbers never appear (null).
public enum ValidationReportSchema {
    /// The schema identifier written as `"schema"`; bump the number on any incompatible change.
    public static let identifier = "rationale-rec/validate-rewards/2"

    /// A threshold as `--threshold` spells it ("p0.9" or "0.5"), so it can be passed back.
    public static func thresholdText(_ t: RewardThreshold) -> String {
        switch t {
        case .absolute(let v): return String(v)
        case .percentile(let q): return "p\(q)"
        }
    }

    static func number(_ v: Double?) -> Any {
        guard let v, v.isFinite else { return NSNull() }
        return v
    }

    /// A point estimate without an interval.
    static func point(_ e: Estimate) -> [String: Any] {
        var d: [String: Any] = ["value": number(e.value)]
        if let r = e.undefinedReason { d["reason"] = r }
        return d
    }

    /// A point estimate with its bootstrap interval.
    static func estimate(_ e: BootstrapEstimate, level: Double) -> [String: Any] {
        var d = point(e.point)
        let ci = e.interval.interval
        d["ci"] = ci.map { [number($0.lower), number($0.upper)] } ?? NSNull()
        d["level"] = ci?.level ?? level
        d["resamples"] = e.resamples
        d["undefined_resamples"] = e.undefinedResamples
        d["method"] = e.method.rawValue
        if d["reason"] == nil, let r = intervalReason(e.interval) { d["ci_reason"] = r }
        return d
    }

    /// A paired difference: the estimate plus its bootstrap p-value.
    static func difference(_ p: PairedDifference, level: Double) -> [String: Any] {
        var d = estimate(p.difference, level: level)
        d["p_value"] = number(p.pValue.value)
        if let r = p.pValue.undefinedReason { d["p_value_reason"] = r }
        return d
    }

    static func configuration(_ c: RewardValidationConfiguration) -> [String: Any] {
        [
            "dataset": c.dataset, "split": c.split, "held_out_part": c.heldOutPart, "reasoner": c.reasoner,
            "rationale_run": c.rationaleRun.map { $0 as Any } ?? NSNull(), "metrics": c.metrics,
            "threshold": thresholdText(c.threshold),
            "threshold_overrides": c.thresholdOverrides.mapValues { thresholdText($0) },
            "payout": c.payout.rawValue, "scale": number(c.scale), "k": c.k,
            "minimum_ratings_per_user": c.minimumRatingsPerUser, "bootstrap_resamples": c.bootstrapResamples,
            "permutations": c.permutations, "baseline": c.baseline, "ellm_metric": c.ellmMetric,
            "seed": c.seed, "encoder": c.encoder.map { $0 as Any } ?? NSNull(), "like_threshold": number(c.likeThreshold),
            "cross_fit_folds": c.crossFitFolds, "users_of_runs": c.usersOfRuns.map { $0 as Any } ?? NSNull(),
            "requested_comparisons": c.requestedComparisons.map { [$0.a, $0.b] },
        ]
    }

    static func metric(_ m: MetricValidation, level: Double) -> [String: Any] {
        func e(_ x: BootstrapEstimate) -> [String: Any] { estimate(x, level: level) }
        var d: [String: Any] = [
            "metric": m.metric, "summary": m.summary, "uses_rationales": m.usesRationales,
            "threshold": m.threshold.map { thresholdText($0) as Any } ?? NSNull(),
            "roc_auc": e(m.auc), "spearman": e(m.spearman), "kendall_tau_b": e(m.kendallTauB), "pearson": e(m.pearson),
            "mean_user_spearman": e(m.meanUserSpearman), "users_in_mean_spearman": m.usersInMeanSpearman,
            "ndcg": e(m.ndcg), "recall": e(m.recall), "users_with_liked_held_out": m.usersWithLikedHeldOut,
            "popularity_model_plus_score_auc": e(m.popularity.fullModelAUC),
            "incremental_auc_over_popularity": {
                var d = difference(m.popularity.incrementalAUC, level: level)
                d["p_holm"] = number(m.popularity.holmPValue.value)
                d["holm_family_size"] = m.popularity.holmFamilySize
                return d
            }(),
            "partial_spearman_given_popularity": e(m.popularity.partialSpearman),
            "by_popularity_stratum": m.popularity.strata.map { s in
                [
                    "stratum": s.stratum.rawValue, "roc_auc": e(s.auc),
                    "popularity_model_plus_score_auc": e(s.fullModelAUC),
                    "incremental_auc_over_popularity": difference(s.incrementalAUC, level: level),
                ] as [String: Any]
            },
            "score_threshold_sweep": m.sweep.map { p in
                [
                    "threshold": number(p.threshold), "positive_rate": number(p.positiveRate),
                    "precision": number(p.metrics.precision.value), "recall": number(p.metrics.recall.value),
                    "f1": number(p.metrics.f1.value),
                ] as [String: Any]
            },
        ]
        if let r = m.rewardDecision, let rate = m.rewardRate {
            d["reward"] = ["rate": number(rate), "precision": point(r.precision), "recall": point(r.recall), "f1": point(r.f1)]
        } else {
            d["reward"] = NSNull()
        }
        return d
    }

    static func selection(_ s: SweepSelection) -> [String: Any] {
        func v(_ e: Estimate?) -> Any { number(e?.value) }
        return [
            "criterion": s.criterion.rawValue, "part": s.part, "held_out_pairs": s.heldOutPairs, "users": s.users,
            "thresholds": s.thresholds.map(thresholdText),
            "picked": s.picked.map { p in
                [
                    "metric": p.metric, "configuration": p.configuration,
                    "threshold": p.threshold.map { thresholdText($0) as Any } ?? NSNull(),
                    "value": v(p.value), "candidates": p.candidates,
                ] as [String: Any]
            },
            "sweep": s.rows.map { r in
                [
                    "metric": r.metric, "configuration": r.configuration,
                    "threshold": r.threshold.map { thresholdText($0) as Any } ?? NSNull(),
                    "roc_auc": v(r.auc), "incremental_auc_over_popularity": v(r.incrementalAUC),
                    "partial_spearman_given_popularity": v(r.partialSpearman), "ndcg": v(r.ndcg),
                    "mean_user_spearman": v(r.meanUserSpearman), "reward_rate": number(r.rewardRate), "reward_f1": v(r.rewardF1),
                    "picked": s.picked.contains { $0.configuration == r.configuration && ($0.threshold == nil || $0.threshold == r.threshold) },
                ] as [String: Any]
            },
        ]
    }

    /// The whole document.
    public static func document(_ r: RewardValidationReport, level: Double = 0.95) -> [String: Any] {
        let b = r.popularityBaseline
        return [
            "schema": identifier,
            "configuration": configuration(r.configuration),
            "data": [
                "held_out_pairs": r.setup.pairs.count, "users": r.users, "liked_share": number(r.likedShare),
                "rationales": r.setup.context.rationales.texts.count,
                "pairs_without_rationales": r.setup.pairsWithoutRationales,
                "users_without_rationales": r.setup.usersWithoutRationales,
            ] as [String: Any],
            "popularity": [
                "feature": "log1p(training count)", "folds": b.folds,
                "model_auc": estimate(b.modelAUC, level: level),
                "strata": [
                    "definition": "terciles of training counts over catalog items with >= 1 training rating: tail <= lower_cut < torso <= upper_cut < head",
                    "lower_cut": number(b.strata.lowerCut), "upper_cut": number(b.strata.upperCut),
                    "catalog_items": b.strata.catalogItems,
                ] as [String: Any],
                "by_stratum": b.strataFigures.map { s in
                    ["stratum": s.stratum.rawValue, "pairs": s.pairs, "liked": s.liked,
                     "model_auc": estimate(s.modelAUC, level: level)] as [String: Any]
                },
            ] as [String: Any],
            "metrics": r.metrics.map { metric($0, level: level) },
            "comparisons": r.comparisons.map { c in
                [
                    "a": c.a, "b": c.b, "statistic": c.statistic, "family": c.family, "family_size": c.familySize,
                    "difference": estimate(c.difference.difference, level: level),
                    "p_bootstrap": point(c.difference.pValue), "p_holm": point(c.holmPValue),
                    "p_sign_flip": c.permutation.map { point($0.pValue) as Any } ?? NSNull(),
                ] as [String: Any]
            },
            "selection": r.selection.map { selection($0) as Any } ?? NSNull(),
            "seconds": number(r.seconds),
        ]
    }

    /// The document as pretty-printed JSON with sorted keys (stable diffs between runs). Written
    /// by `JSONEncoder`, whose numbers are the shortest text that reads back to the same Double;
    /// `JSONSerialization` on Linux rounds the last digit (0.8540249433106576 came out …577).
    public static func data(_ r: RewardValidationReport) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(JSONValue(document(r)))
    }
}

/// A JSON tree built from the plain values of `ValidationReportSchema.document`.
enum JSONValue: Encodable {
    case null, bool(Bool), int(Int64), uint(UInt64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(_ v: Any) {
        switch v {
        case is NSNull: self = .null
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(Int64(i))
        case let i as Int64: self = .int(i)
        case let u as UInt64: self = .uint(u)
        case let d as Double: self = d.isFinite ? .double(d) : .null
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONValue.init))
        case let o as [String: Any]: self = .object(o.mapValues(JSONValue.init))
        case let o as [String: String]: self = .object(o.mapValues { .string($0) })
        default: preconditionFailure("report.json: unsupported value \(type(of: v))")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .uint(let u): try c.encode(u)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
