import Foundation
import Testing
@testable import RecAgents

/// `--eval-users all`: the users the agent trains on are the users it is scored on, so training
/// must never see their test ratings.
@Suite struct AllUsersProtocolTests {
    @Test func trainingSessionsNeverAnswerWithATestRating() throws {
        let d = try tinyWorld(users: 40, items: 60, rationales: false)
        var real = d
        // A real-data-like dataset: no latent tastes, so held-out ratings answer where they exist.
        real.tastes = [:]
        let sim = UserSimulator(dataset: real, seed: 1)
        let hidden = sim.hidingHeldOutRatings(test: true, validation: false)
        var testPairs = 0, validPairs = 0
        for (u, user) in real.users.enumerated() {
            for (i, r) in user.heldOut {
                if user.test[i] != nil {
                    testPairs += 1
                    #expect(sim.rating(user: u, item: i) == r)
                    #expect(hidden.source(user: u, item: i) == .model)
                } else {
                    validPairs += 1
                    #expect(hidden.rating(user: u, item: i) == r, "validation ratings still answer")
                }
            }
            #expect(hidden.dataset.users[u].test == user.test, "the test part itself is kept for evaluation")
        }
        #expect(testPairs > 0 && validPairs > 0)

        var c = tinyConfiguration(finetune: 200)
        c.evaluateAllUsers = true
        let run = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false)
        #expect(run.trainingSimulator.dataset.users.map(\.heldOut) == hidden.dataset.users.map(\.heldOut))
        c.evaluateAllUsers = nil
        let heldOutRun = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false)
        #expect(heldOutRun.trainingSimulator.dataset.users.map(\.heldOut) == real.users.map(\.heldOut),
                "with held-out users, training users' test ratings may answer: those users are never scored")
    }

    /// Scored on validation, a run reads no test rating: training hides the test part (and, all
    /// users training, the validation part too), and the ranking's relevant items are the liked
    /// validation items.
    @Test func aValidationRunReadsNoTestRating() throws {
        var real = try tinyWorld(users: 40, items: 60, rationales: false)
        real.tastes = [:]
        let sim = UserSimulator(dataset: real, seed: 1)
        var c = tinyConfiguration(finetune: 200)
        c.evaluationPart = .validation
        let heldOutUsers = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false)
        for (u, user) in heldOutUsers.trainingSimulator.dataset.users.enumerated() {
            #expect(Set(user.heldOut.keys) == Set(real.users[u].heldOut.keys).subtracting(real.users[u].test.keys))
        }
        c.evaluateAllUsers = true
        let all = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false)
        #expect(all.trainingSimulator.dataset.users.allSatisfy { $0.heldOut.isEmpty })
        let evaluator = try all.makeEvaluator()
        #expect(evaluator.part == .validation)
        var checked = 0
        for user in real.users {
            let liked = Set(user.heldOut.filter { user.test[$0.key] == nil && $0.value >= real.scale.likeThreshold }.keys)
            #expect(evaluator.relevantItems(user, likeThreshold: real.scale.likeThreshold) == liked)
            #expect(liked.isDisjoint(with: user.test.keys))
            checked += liked.isEmpty ? 0 : 1
        }
        #expect(checked > 0)
        let result = try all.run()
        #expect(result.evaluation("final")!.rankedUsers > 0)
    }
}
