import Foundation
import Testing
import RecData
import RecDistances
import RecEvaluation
import RecKit
@testable import RecRewards
@testable import RecValidation

/// Issue 15: pairs.csv decides once per metric whether it has a rationale column (asking per row
/// made the file quadratic in the pairs for the controls, whose column is all nil).
@Suite struct PairsCSVScaleTests {
    @Test func controlsHaveNoRationaleColumnAndEveryPairHasOneRow() throws {
        var c = RewardValidationConfiguration(dataset: "toy", split: "s", reasoner: "none", metrics: ["popularity", "random"])
        c.bootstrapResamples = 20
        c.permutations = 100
        c.baseline = "random"
        let setup = monotoneSetup(users: 300, perUser: 5)
        let r = try RewardValidation.run(setup: setup, metrics: [PopularityScore(), RandomScore()], configuration: c, showProgress: false)
        let lines = ValidationReportWriter.pairsCSV(r).split(separator: "\n")
        #expect(lines.first == "user_id,item_id,rating,liked,timestamp,popularity.score,popularity.reward,random.score,random.reward")
        #expect(lines.count == setup.pairs.count + 1)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 9 })
    }
}
