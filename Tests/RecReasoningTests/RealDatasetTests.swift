import Foundation
import RecData
import RecKit
import Testing
@testable import RecReasoning

/// Runs only when `REC_REASONING_DB` names a database with a dataset (`REC_REASONING_DATASET`,
/// default ml-100k) and split (`REC_REASONING_SPLIT`, default leave-last-out): times the aspect
/// reasoner over every user and prints a few examples. Skipped in ordinary test runs.
@Suite struct RealDatasetTests {
    static let env = ProcessInfo.processInfo.environment

    @Test(.enabled(if: env["REC_REASONING_DB"] != nil))
    func aspectReasonerOverAllUsers() async throws {
        let env = Self.env
        let store = try RatingStore(path: env["REC_REASONING_DB"]!)
        let dataset = env["REC_REASONING_DATASET"] ?? "ml-100k"
        let split = env["REC_REASONING_SPLIT"] ?? "leave-last-out"
        // A scratch run: generate, read back, print the time, then delete it again.
        let rs = try RationaleStore(store: store)
        let t0 = Date()
        let builder = try ProfileBuilder(store: store, dataset: dataset, split: split)
        let reasoner = AspectReasoner(builder: builder)
        var o = RationaleGenerator.Options(dataset: dataset, split: split)
        o.showProgress = false
        let summary = try await RationaleGenerator(store: rs, reasoner: reasoner, options: o).run(builder: builder)
        let seconds = Date().timeIntervalSince(t0)
        print("aspect reasoner: \(summary.usersGenerated) users (\(summary.usersSkipped) already done), \(summary.rationales) rationales in \(String(format: "%.2f", seconds)) s")
        for rec in try rs.records(runID: summary.run.id, limit: 6) {
            print("user \(rec.externalID):")
            for it in builder.profile(userID: rec.userID, externalID: rec.externalID).liked.prefix(4) { print("    liked: \(it.text)") }
            for t in rec.texts { print("  - \(t)") }
        }
        if env["REC_REASONING_KEEP"] == nil { try rs.deleteRun(id: summary.run.id) }
        #expect(summary.usersGenerated + summary.usersSkipped > 0)
    }
}
