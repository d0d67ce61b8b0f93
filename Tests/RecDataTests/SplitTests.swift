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
            // Two test and one valid rating per user; ratings given in the same second may come in
            // any order, so the check is by time, not by position.
            #expect(rs.filter { $0.1 == .test }.count == 2 && rs.filter { $0.1 == .valid }.count == 1)
            let time = { (p: SplitPart) in rs.filter { $0.1 == p }.map(\.0.timestamp) }
            #expect(time(.train).max()! <= time(.valid).min()! && time(.valid).max()! <= time(.test).min()!)
        }
    }

    /// Same-second ratings have no order: the seed orders each burst, so seeds give different
    /// leave-last-out splits, and every held-out rating still belongs to the user's latest ones.
    @Test func leaveLastOutBreaksSameSecondTiesBySeed() throws {
        let (s, _) = try makeTemporaryStore()
        let csv = (1...3).flatMap { u in (1...12).map { i in "\(u),\(i),\(1 + (u + i) % 5),\(i <= 6 ? 100 + i : 500)" } }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ties-\(UUID().uuidString).csv")
        try ("user,item,rating,timestamp\n" + csv.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        var mapping = DelimitedMapping(user: "user", item: "item", rating: "rating", timestamp: "timestamp")
        mapping.hasHeader = true
        var o = ImportOptions(datasetName: "ties")
        o.showProgress = false
        _ = try s.importDataset(try DatasetFormat.importer(format: .csv, path: url.path, metaPath: nil, mapping: mapping), options: o)
        let d = try s.dataset(named: "ties")
        var heldOut: [Set<String>] = []
        for seed: UInt64 in [1, 2, 3, 1] {
            _ = try s.createSplit(dataset: "ties", splitName: "llo\(seed)-\(heldOut.count)", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: seed)
            let test = try s.ratings(dataset: d, split: "llo\(seed)-\(heldOut.count)", part: .test)
            #expect(test.allSatisfy { $0.timestamp == 500 })
            heldOut.append(Set(test.map { "\($0.userID)-\($0.itemID)" }))
        }
        #expect(heldOut[0] == heldOut[3])
        #expect(Set(heldOut.prefix(3)).count > 1)
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
