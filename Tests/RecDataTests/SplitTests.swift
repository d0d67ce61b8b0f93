import Foundation
import GRDB
import Testing
@testable import RecData
import RecKit

@Suite struct SplitTests {
    func parts(_ s: RatingStore, _ d: DatasetInfo, _ split: String) throws -> [Int64: [(StoredRating, SplitPart)]] {
        var out: [Int64: [(StoredRating, SplitPart)]] = [:]
        for p in SplitPart.allCases {
            for r in try s.ratings(dataset: d, split: split, part: p) { out[r.userID, default: []].append((r, p)) }
        }
        return out.mapValues { $0.sorted { ($0.0.timestamp, $0.0.itemID) < ($1.0.timestamp, $1.0.itemID) } }
    }

    @Test func leaveLastOutHoldsOutEachUsersLatestRatings() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s)
        let sum = try s.createSplit(dataset: "synth", splitName: "llo", method: .leaveLastOut(valid: 1, test: 2, minTrain: 1), seed: 1)
        let d = try s.dataset(named: "synth")
        let byUser = try parts(s, d, "llo")
        #expect(sum.train + sum.valid + sum.test == (try s.ratings(dataset: d)).count)
        for (_, rs) in byUser {
            let p = rs.map(\.1)
            #expect(Array(p.suffix(2)) == [.test, .test])
            #expect(p[p.count - 3] == .valid)
            #expect(p.dropLast(3).allSatisfy { $0 == .train })
            // Temporal: no training rating is later than a held-out one.
            let lastTrain = rs.filter { $0.1 == .train }.map(\.0.timestamp).max()!
            #expect(rs.filter { $0.1 != .train }.allSatisfy { $0.0.timestamp >= lastTrain })
        }
    }

    @Test func leaveLastOutKeepsMinimumTraining() {
        var g = SeededGenerator(seed: 1)
        let m = SplitMethod.leaveLastOut(valid: 1, test: 1, minTrain: 2)
        #expect(m.assign(userRatings: 1, generator: &g) == [.train])
        #expect(m.assign(userRatings: 3, generator: &g) == [.train, .train, .test])
        #expect(m.assign(userRatings: 4, generator: &g) == [.train, .train, .valid, .test])
    }

    @Test func randomRatioIsSeededPerUserAndKeepsProportions() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s, users: 60)
        let a = try s.createSplit(dataset: "synth", splitName: "r1", method: .randomRatio(train: 0.8, valid: 0.1, test: 0.1), seed: 5)
        let b = try s.createSplit(dataset: "synth", splitName: "r2", method: .randomRatio(train: 0.8, valid: 0.1, test: 0.1), seed: 5)
        let c = try s.createSplit(dataset: "synth", splitName: "r3", method: .randomRatio(train: 0.8, valid: 0.1, test: 0.1), seed: 6)
        let d = try s.dataset(named: "synth")
        let ids = { (n: String) in try s.ratings(dataset: d, split: n, part: .test).map { [$0.userID, $0.itemID] } }
        #expect(try ids("r1") == ids("r2"))
        #expect(try ids("r1") != ids("r3"))
        let total = Double(a.train + a.valid + a.test)
        #expect(abs(Double(a.test) / total - 0.1) < 0.02)
        #expect(abs(Double(a.valid) / total - 0.1) < 0.02)
        #expect(b.test == a.test && c.train > 0)
        for (_, rs) in try parts(s, d, "r1") { #expect(rs.contains { $0.1 == .train }) }
    }

    @Test func globalTemporalCutsAtOneTime() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s)
        let sum = try s.createSplit(dataset: "synth", splitName: "t", method: .globalTemporal(train: 0.7, valid: 0.1), seed: 1)
        let d = try s.dataset(named: "synth")
        let train = try s.ratings(dataset: d, split: "t", part: .train).map(\.timestamp)
        let valid = try s.ratings(dataset: d, split: "t", part: .valid).map(\.timestamp)
        let test = try s.ratings(dataset: d, split: "t", part: .test).map(\.timestamp)
        #expect(train.max()! <= valid.min()! && valid.max()! <= test.min()!)
        let total = Double(sum.train + sum.valid + sum.test)
        #expect(abs(Double(sum.train) / total - 0.7) < 0.001)
    }

    @Test func splitsAreNamedRefusedTwiceAndValidated() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s)
        try s.createSplit(dataset: "synth", splitName: "x", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 1)
        #expect(throws: StoreError.splitExists(dataset: "synth", split: "x")) {
            try s.createSplit(dataset: "synth", splitName: "x", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 1)
        }
        try s.createSplit(dataset: "synth", splitName: "x", method: .leaveLastOut(valid: 0, test: 1, minTrain: 1), seed: 1, replace: true)
        #expect(throws: StoreError.self) { try s.createSplit(dataset: "synth", splitName: "y", method: .randomRatio(train: 0.5, valid: 0.1, test: 0.1), seed: 1) }
        #expect(throws: StoreError.self) { try s.createSplit(dataset: "nope", splitName: "y", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 1) }
        let d = try s.dataset(named: "synth")
        #expect(throws: StoreError.self) { _ = try s.ratings(dataset: d, split: "missing") }
    }

    @Test func likedItemsComeFromTrainingOnly() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s)
        try s.createSplit(dataset: "synth", splitName: "llo", method: .leaveLastOut(valid: 2, test: 3, minTrain: 1), seed: 1)
        let d = try s.dataset(named: "synth")
        let liked = try s.likedTrainingItems(dataset: d, split: "llo")
        let heldOut = try s.ratings(dataset: d, split: "llo", part: .test) + s.ratings(dataset: d, split: "llo", part: .valid)
        let heldOutPairs = Set(heldOut.map { "\($0.userID)-\($0.itemID)" })
        let likedHeldOut = heldOut.filter { $0.value >= d.scale.likeThreshold }
        #expect(!likedHeldOut.isEmpty)  // there is something that could leak
        for (u, items) in liked { for i in items { #expect(!heldOutPairs.contains("\(u)-\(i)")) } }
        let train = try s.ratings(dataset: d, split: "llo", part: .train)
        let expected = Set(train.filter { $0.value >= 4 }.map { "\($0.userID)-\($0.itemID)" })
        #expect(Set(liked.flatMap { u, items in items.map { "\(u)-\($0)" } }) == expected)
    }
}
