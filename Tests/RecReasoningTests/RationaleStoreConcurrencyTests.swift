import Foundation
import GRDB
import RecData
import Testing
@testable import RecReasoning

/// Two generators of one run, each on its own connection as two processes would be
/// (Docs/guarantees.md, "Concurrent use").
@Suite struct RationaleStoreConcurrencyTests {
    /// The reproduction: the second `rec-data rationales` of the same run died with
    /// "UNIQUE constraint failed: rationale_user.run_id, rationale_user.user_id". Now the user
    /// stored first stands and the other save is a no-op that reports it.
    @Test func aUserStoredByAnotherConnectionIsSkippedNotAnError() throws {
        let (store, _) = try makeWorld(users: 6)
        let other = try RatingStore(path: store.path)
        let a = try RationaleStore(store: store), b = try RationaleStore(store: other)
        let identity = RunIdentity(dataset: "synth", split: "llo", reasoner: "aspect", model: "m", promptHash: "p", mode: .open, k: 2)
        let runA = try a.openRun(identity, config: [:]), runB = try b.openRun(identity, config: [:])
        #expect(runA.id == runB.id)
        let user = try store.users(dataset: try store.dataset(named: "synth"))[0].id
        #expect(try a.save(run: runA.id, userID: user, texts: ["first", "answer"]))
        #expect(try b.save(run: runB.id, userID: user, texts: ["second"]) == false)
        #expect(try a.rationales(runID: runA.id)[user] == ["first", "answer"])
        #expect(try rowCount(store, "rationale") == 2)
    }

    /// Two whole generations of one run at once finish together with every user stored once.
    @Test func twoGenerationsOfOneRunShareTheUsers() async throws {
        let (store, _) = try makeWorld(users: 40)
        let other = try RatingStore(path: store.path)
        let a = try RationaleStore(store: store), b = try RationaleStore(store: other)
        let builderA = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        let builderB = try ProfileBuilder(store: other, dataset: "synth", split: "llo")
        async let first = RationaleGenerator(store: a, reasoner: AspectReasoner(builder: builderA), options: quietOptions()).run(builder: builderA)
        async let second = RationaleGenerator(store: b, reasoner: AspectReasoner(builder: builderB), options: quietOptions()).run(builder: builderB)
        let (s1, s2) = try await (first, second)
        #expect(s1.run.id == s2.run.id)
        #expect(s1.usersGenerated + s2.usersGenerated == 40)
        #expect(try a.completedUsers(run: s1.run.id).count == 40)
        #expect(try rowCount(store, "rationale_run") == 1)
    }

    /// A read-only store without the reasoning tables has no rationales: it says how to make them
    /// and creates nothing.
    @Test func aReadOnlyStoreWithoutTheTablesSaysHowToGenerate() throws {
        let (store, _) = try makeWorld(users: 4)
        let readOnly = try RatingStore(path: store.path, readOnly: true)
        #expect {
            _ = try RationaleStore(store: readOnly)
        } throws: { e in "\(e)".contains("rec-data rationales") && "\(e)".contains(store.path) }
        #expect(try store.pool.read { db in try db.tableExists("rationale_run") } == false)
    }
}
