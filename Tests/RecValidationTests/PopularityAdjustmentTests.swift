import Foundation
import Testing
import RecData
import RecDistances
import RecEvaluation
import RecKit
import RecNumerics
@testable import RecRewards
@testable import RecValidation

/// A per-(user, item) signal in [0, 1) that popularity knows nothing about.
func hiddenSignal(_ user: Int64, _ item: Int) -> Double {
    var g = SeededGenerator(seed: 1000 &* UInt64(user) &+ UInt64(item)).fork("signal")
    return Double(g.nextUnitFloat())
}

/// Test metric: the hidden signal, `weight` of it mixed with the popularity rank (weight 1: pure
/// signal; 0: pure popularity). Tunable over its weight.
struct SignalMix: TunableDistance {
    var weight: Double = 1
    var isDefault = true
    var name: String { isDefault ? "signal" : "signal:weight=\(weight)" }
    var summary: String { "test: hidden signal mixed with popularity" }
    var needs: MetricNeeds { [] }
    var range: ClosedRange<Double>? { nil }
    var sweepVariants: [any DescriptionDistance] {
        [self, SignalMix(weight: 0, isDefault: false), SignalMix(weight: 1, isDefault: false)]
    }
    func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        Matrix(rows: items.count, cols: 1, storage: items.map { i in
            Float(weight * hiddenSignal(user.userID, i) + (1 - weight) * Double(context.catalog.popularity[i]) / 60)
        })
    }
}

/// Test metric that returns NaN for item 7.
struct BrokenMetric: DescriptionDistance {
    var name: String { "broken" }
    var summary: String { "test: NaN on item 7" }
    var needs: MetricNeeds { [] }
    var range: ClosedRange<Double>? { nil }
    func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix {
        Matrix(rows: items.count, cols: 1, storage: items.map { $0 == 7 ? .nan : 0.5 })
    }
}

/// Ratings that rise with both popularity (item i has popularity i) and the hidden signal, so
/// popularity predicts liking, and the signal adds to it.
func signalSetup(users: Int = 120, perUser: Int = 8, seed: UInt64 = 3) -> ScoringSetup {
    var s = monotoneSetup(users: 1, perUser: 1)
    var g = SeededGenerator(seed: seed)
    var pairs: [HeldOutPair] = []
    var queries: [UserQuery] = []
    for u in 0..<users {
        queries.append(UserQuery(userID: Int64(u), rationales: 0..<0, likedItems: []))
        for i in Array(Set((0..<perUser).map { _ in g.nextIndex(60) })).sorted() {
            let rating = (1 + 2 * Double(i) / 59 + 2 * hiddenSignal(Int64(u), i)).rounded()
            pairs.append(HeldOutPair(userID: Int64(u), item: i, rating: rating, timestamp: 0))
        }
    }
    s.users = queries
    s.pairs = pairs
    return s
}

@Suite struct PopularityAdjustmentTests {
    func configuration(_ metrics: [String]) -> RewardValidationConfiguration {
        var c = RewardValidationConfiguration(dataset: "toy", split: "s", reasoner: "none", metrics: metrics)
        c.bootstrapResamples = 200
        c.permutations = 200
        c.baseline = "popularity"
        return c
    }

    @Test func strataAreTercilesOfTheCatalogsPositiveCounts() {
        // Positive counts 1…9: numpy quantiles at ⅓ and ⅔ are 1 + 8/3 and 1 + 16/3.
        let s = PopularityStrata(trainingCounts: (0..<10).map(Float.init))
        #expect(s.catalogItems == 9)
        #expect(abs(s.lowerCut - (1 + 8.0 / 3)) < 1e-12 && abs(s.upperCut - (1 + 16.0 / 3)) < 1e-12)
        #expect(s.stratum(ofCount: 0) == .tail && s.stratum(ofCount: 3) == .tail)
        #expect(s.stratum(ofCount: 4) == .torso && s.stratum(ofCount: 6) == .torso)
        #expect(s.stratum(ofCount: 7) == .head)
    }

    @Test func aSignalBeyondPopularityGainsAUCAndPopularityItselfDoesNot() throws {
        let setup = signalSetup()
        let r = try RewardValidation.run(setup: setup, metrics: [PopularityScore(), SignalMix(), RandomScore()],
                                         configuration: configuration(["popularity", "signal", "random"]), showProgress: false)
        let pop = r.metrics[0].popularity, signal = r.metrics[1].popularity, random = r.metrics[2].popularity
        // The signal carries what popularity does not: clear gain, interval above 0, small p.
        #expect(signal.incrementalAUC.difference.point.value! > 0.05)
        #expect(signal.incrementalAUC.difference.interval.interval!.lower > 0)
        #expect(signal.incrementalAUC.pValue.value! < 0.01)
        #expect(signal.partialSpearman.point.value! > 0.3)
        // Popularity given popularity: no gain, and its partial ρ is undefined (a reason, not NaN).
        #expect(abs(pop.incrementalAUC.difference.point.value!) < 0.01)
        #expect(pop.partialSpearman.point.value == nil)
        #expect(abs(random.incrementalAUC.difference.point.value!) < 0.03)
        // Holm over the two metrics other than the popularity control, by hand.
        let ps = signal.incrementalAUC.pValue.value!, pr = random.incrementalAUC.pValue.value!
        let (low, high) = ps <= pr ? (ps, pr) : (pr, ps)
        let adjustedLow = min(1, 2 * low), adjustedHigh = max(adjustedLow, min(1, high))
        #expect(signal.holmFamilySize == 2 && random.holmFamilySize == 2 && pop.holmPValue.value == nil)
        #expect(abs(signal.holmPValue.value! - (ps <= pr ? adjustedLow : adjustedHigh)) < 1e-15)
        #expect(abs(random.holmPValue.value! - (ps <= pr ? adjustedHigh : adjustedLow)) < 1e-15)
        // The popularity-only model's AUC is the baseline of every difference.
        let base = r.popularityBaseline.modelAUC.point.value!
        #expect(abs(signal.fullModelAUC.point.value! - base - signal.incrementalAUC.difference.point.value!) < 1e-12)
        // Strata partition the pairs; within a stratum popularity predicts less than overall.
        #expect(r.popularityBaseline.strataFigures.map(\.pairs).reduce(0, +) == setup.pairs.count)
        #expect(signal.strata.count == 3 && signal.strata.allSatisfy { $0.incrementalAUC.difference.point.value! > 0 })
        // Same seed, same folds, same numbers.
        let again = try RewardValidation.run(setup: setup, metrics: [PopularityScore(), SignalMix(), RandomScore()],
                                             configuration: configuration(["popularity", "signal", "random"]), showProgress: false)
        #expect(again.metrics[1].popularity.incrementalAUC == signal.incrementalAUC)
    }

    @Test func aStratumAUCIsTheAUCOfItsPairsAlone() throws {
        let setup = signalSetup()
        let r = try RewardValidation.run(setup: setup, metrics: [SignalMix()], configuration: configuration(["signal"]), showProgress: false)
        let strata = r.popularityBaseline.strata
        let liked = setup.pairs.map { $0.rating >= 4 }
        for s in r.metrics[0].popularity.strata {
            let idx = setup.pairs.indices.filter { strata.stratum(ofCount: Double(setup.context.catalog.popularity[setup.pairs[$0].item])) == s.stratum }
            let direct = ROC.auc(scores: idx.map { r.scores[0].score[$0] }, labels: idx.map { liked[$0] })
            #expect(abs(s.auc.point.value! - direct.value!) < 1e-12, "\(s.stratum)")
        }
    }

    @Test func aNonFiniteScoreStopsTheRunNamingMetricAndPair() throws {
        var setup = signalSetup(users: 10)
        setup.pairs[3].item = 7
        do {
            _ = try RewardValidation.run(setup: setup, metrics: [PopularityScore(), BrokenMetric()],
                                         configuration: configuration(["popularity", "broken"]), showProgress: false)
            Issue.record("expected an error")
        } catch let e as RewardValidationError {
            let text = "\(e)"
            #expect(text.contains("'broken'") && text.contains("user \(setup.pairs[3].userID)") && text.contains("item 7"), "\(text)")
        }
    }

    @Test func theSweepPicksOnValidationAndTheReportIsOnTest() throws {
        let valid = signalSetup(seed: 5), test = signalSetup(seed: 6)
        var c = configuration(["signal", "popularity"])
        c.baseline = "popularity"
        let r = try RewardValidation.runSelected(validation: valid, test: test, metrics: [SignalMix(weight: 0.5), PopularityScore()],
                                                 thresholds: [.percentile(0.9)], criterion: .incrementalAUC,
                                                 configuration: c, showProgress: false)
        let sel = try #require(r.selection)
        #expect(sel.part == "valid" && sel.heldOutPairs == valid.pairs.count)
        #expect(sel.rows.filter { $0.metric == "signal" }.map(\.configuration) == ["signal", "signal:weight=0.0", "signal:weight=1.0"])
        // The pick is the row with the largest valid incremental AUC, by brute force over the table;
        // pure popularity (weight 0) adds nothing over popularity and must lose.
        let best = sel.rows.filter { $0.metric == "signal" }.max { $0.incrementalAUC.value! < $1.incrementalAUC.value! }!
        let pick = sel.picked.first { $0.metric == "signal" }!
        #expect(pick.configuration == best.configuration && pick.configuration != "signal:weight=0.0")
        #expect(r.metrics.map(\.metric) == [pick.configuration, "popularity"])
        #expect(r.setup.pairs.count == test.pairs.count)
        // Reject selecting and reporting on the same part.
        var onValid = c
        onValid.heldOutPart = "valid"
        #expect(throws: RewardValidationError.self) {
            try RewardValidation.runSelected(validation: valid, test: test, metrics: [SignalMix()], thresholds: [], criterion: .auc,
                                             configuration: onValid, showProgress: false)
        }
        // The selection is in report.json and the sweep in sweep.csv.
        let files = try ValidationReportWriter.files(r)
        let json = try JSONSerialization.jsonObject(with: files["report.json"]!) as! [String: Any]
        let selection = json["selection"] as! [String: Any]
        #expect(selection["criterion"] as? String == "incremental-auc")
        #expect((selection["sweep"] as! [[String: Any]]).count == sel.rows.count)
        #expect((selection["picked"] as! [[String: Any]]).first?["configuration"] as? String == pick.configuration)
        let csv = String(decoding: files["sweep.csv"]!, as: UTF8.self)
        #expect(csv.hasPrefix("metric,configuration,threshold,statistic,value,undefined_reason,picked,criterion\n"))
    }

    @Test func perMetricThresholdOverridesReplaceTheDefault() {
        var c = configuration(["a", "b"])
        c.threshold = .percentile(0.9)
        c.thresholdOverrides["b"] = .percentile(0.5)
        #expect(c.threshold(for: "a") == .percentile(0.9) && c.threshold(for: "b") == .percentile(0.5))
    }

    @Test func reportJSONIsFlatAndVersioned() throws {
        let r = try RewardValidation.run(setup: signalSetup(users: 40), metrics: [PopularityScore(), SignalMix()],
                                         configuration: configuration(["popularity", "signal"]), showProgress: false)
        let data = try ValidationReportWriter.json(r)
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("\"_0\"") && !text.contains("\"interval\"") && !text.contains("nan"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(json["schema"] as? String == ValidationReportSchema.identifier)
        let metrics = json["metrics"] as! [[String: Any]]
        // Values as written: the shortest text that reads back to the same Double (Foundation's
        // parser on Linux may itself round the last digit, so compare the text and, loosely, the parse).
        let auc = metrics[1]["roc_auc"] as! [String: Any]
        let value = r.metrics[1].auc.point.value!, ci = r.metrics[1].auc.interval.interval!
        #expect(text.contains("\"value\" : \(value)") && text.contains("\(ci.lower)") && text.contains("\(ci.upper)"))
        #expect(abs((auc["value"] as! Double) - value) < 1e-15)
        #expect((auc["ci"] as! [Double]).count == 2)
        #expect(auc["level"] as? Double == 0.95 && auc["resamples"] as? Int == 200)
        let inc = metrics[1]["incremental_auc_over_popularity"] as! [String: Any]
        #expect(abs((inc["p_value"] as! Double) - r.metrics[1].popularity.incrementalAUC.pValue.value!) < 1e-15)
        // Undefined: null with a reason.
        let partial = metrics[0]["partial_spearman_given_popularity"] as! [String: Any]
        #expect(partial["value"] is NSNull && (partial["reason"] as? String)?.isEmpty == false)
        #expect((metrics[1]["by_popularity_stratum"] as! [[String: Any]]).map { $0["stratum"] as! String } == ["head", "torso", "tail"])
        #expect((json["configuration"] as! [String: Any])["threshold"] as? String == "p0.9")
        #expect(json["selection"] is NSNull)
    }

    @Test func pairsCSVScoresRoundTripFloat32() throws {
        let r = try RewardValidation.run(setup: signalSetup(users: 30), metrics: [SignalMix()],
                                         configuration: configuration(["signal"]), showProgress: false)
        let lines = ValidationReportWriter.pairsCSV(r).split(separator: "\n").dropFirst()
        var distinct = 0
        for (k, line) in lines.enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            let written = Float(String(f[5]))!
            #expect(written == Float(r.scores[0].score[k]), "\(line)")
            if Double(String(f[5])) != Double(String(format: "%.6g", r.scores[0].score[k])) { distinct += 1 }
        }
        #expect(distinct > 0)  // 6 digits would have lost something somewhere
    }
}
