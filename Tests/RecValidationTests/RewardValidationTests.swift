import Foundation
import Testing
import RecData
import RecDistances
import RecEvaluation
import RecKit
@testable import RecRewards
@testable import RecValidation

/// A setup where item i has popularity i and every held-out rating rises with the item index, so
/// the popularity control is a perfect predictor and the random control is not.
func monotoneSetup(users: Int = 40, perUser: Int = 6) -> ScoringSetup {
    let items = 60
    let catalog = ScoringCatalog(texts: (0..<items).map { "item \($0)" }, popularity: (0..<items).map(Float.init))
    var pairs: [HeldOutPair] = []
    var queries: [UserQuery] = []
    var g = SeededGenerator(seed: 3)
    for u in 0..<users {
        queries.append(UserQuery(userID: Int64(u), rationales: 0..<0, likedItems: []))
        let chosen = Array(Set((0..<perUser).map { _ in g.nextIndex(items) })).sorted()
        for i in chosen { pairs.append(HeldOutPair(userID: Int64(u), item: i, rating: 1 + Double(i) / 15, timestamp: 0)) }
    }
    let dataset = DatasetInfo(id: 1, name: "toy", format: "test", source: "", scale: RatingScale(min: 1, max: 5),
                              itemTextTemplate: "", createdAt: "")
    return ScoringSetup(dataset: dataset, split: "s", context: ScoringContext(catalog: catalog, rationales: RationaleSet(texts: []), seed: 1),
                        users: queries, pairs: pairs, itemIDs: (0..<items).map(Int64.init), itemExternalIDs: (0..<items).map(String.init),
                        userExternalIDs: [:], pairsWithoutRationales: 0, usersWithoutRationales: 0)
}

@Suite struct RewardValidationTests {
    @Test func aPerfectPredictorScoresOneAndRandomScoresChance() throws {
        var c = RewardValidationConfiguration(dataset: "toy", split: "s", reasoner: "none", metrics: ["popularity", "random"])
        c.bootstrapResamples = 200
        c.permutations = 2000
        c.baseline = "random"
        let r = try RewardValidation.run(setup: monotoneSetup(), metrics: [PopularityScore(), RandomScore()], configuration: c, showProgress: false)
        let pop = r.metrics[0], rnd = r.metrics[1]
        #expect(abs(pop.auc.point.value! - 1) < 1e-12)
        #expect(abs(pop.spearman.point.value! - 1) < 1e-12)
        #expect(abs(pop.kendallTauB.point.value! - 1) < 1e-12)
        #expect(abs(pop.ndcg.point.value! - 1) < 1e-12)
        #expect(abs(rnd.auc.point.value! - 0.5) < 0.1)
        #expect(pop.rewardDecision == nil)  // controls have no threshold decision
        let ndcgTest = r.comparisons.first { $0.statistic == "ndcg@10" }!
        #expect(ndcgTest.difference.difference.point.value! > 0)
        #expect(ndcgTest.permutation!.pValue.value! < 0.01)
        // Files: every number of the table is in the summary CSV, and the JSON parses.
        let files = try ValidationReportWriter.files(r)
        #expect(Set(files.keys) == ["pairs.csv", "summary.csv", "report.md", "report.html", "report.json", "incremental-auc.svg", "popularity-strata-auc.svg"])
        let summary = String(decoding: files["summary.csv"]!, as: UTF8.self)
        #expect(summary.contains("popularity,roc_auc,1.0,"))
        _ = try JSONSerialization.jsonObject(with: files["report.json"]!)
        let pairs = String(decoding: files["pairs.csv"]!, as: UTF8.self).split(separator: "\n")
        #expect(pairs.count == r.setup.pairs.count + 1)
    }

    @Test func undefinedStatisticsStayUndefined() throws {
        // One held-out rating per user: no per-user Spearman can be defined.
        var c = RewardValidationConfiguration(dataset: "toy", split: "s", reasoner: "none", metrics: ["popularity"])
        c.bootstrapResamples = 50
        c.baseline = "popularity"
        let r = try RewardValidation.run(setup: monotoneSetup(perUser: 1), metrics: [PopularityScore()], configuration: c, showProgress: false)
        #expect(r.metrics[0].meanUserSpearman.point.value == nil)
        #expect(r.metrics[0].usersInMeanSpearman == 0)
        let md = ValidationReportWriter.markdown(r)
        #expect(md.contains("n/a") && !md.contains("nan") && !md.contains("NaN"))
    }

    @Test func noPairsIsAClearError() {
        var s = monotoneSetup()
        s.pairs = []
        #expect(throws: StoreError.self) {
            try RewardValidation.run(setup: s, metrics: [PopularityScore()],
                                     configuration: RewardValidationConfiguration(dataset: "toy", split: "s", reasoner: "x", metrics: []), showProgress: false)
        }
    }
}
