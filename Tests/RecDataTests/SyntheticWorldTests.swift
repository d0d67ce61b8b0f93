import Foundation
import GRDB
import Testing
@testable import RecData

@Suite struct SyntheticWorldTests {
    @Test func sameSeedSameWorldDifferentSeedDifferentWorld() throws {
        let (a, _) = try makeTemporaryStore(), (b, _) = try makeTemporaryStore()
        try importSynthetic(a, seed: 7); try importSynthetic(b, seed: 7)
        try importSynthetic(b, name: "other", seed: 8)
        func dump(_ s: RatingStore, _ n: String) throws -> [String] {
            let d = try s.dataset(named: n)
            let items = try s.items(dataset: d).map(\.text)
            let ratings = try s.ratings(dataset: d).map { "\($0.userID - (try! s.users(dataset: d).first!.id)):\($0.itemID):\($0.value):\($0.timestamp)" }
            let prefs = try s.users(dataset: d).map { $0.preference ?? "" }
            return items + ratings + prefs
        }
        #expect(try dump(a, "synth") == dump(b, "synth"))
        #expect(try dump(b, "synth") != dump(b, "other"))
    }

    @Test func ratingsFollowTheLatentTaste() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s, users: 80, items: 120)
        let d = try s.dataset(named: "synth")
        let users = try s.users(dataset: d)
        #expect(users.allSatisfy { ($0.preference ?? "").hasPrefix("Prefers ") })
        // Items in a user's favourite categories must be rated higher on average than others.
        let items = Dictionary(uniqueKeysWithValues: try s.items(dataset: d).map { ($0.id, $0) })
        let favourite: [Int64: [String]] = try s.pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, attributes FROM user WHERE dataset_id = ?", arguments: [d.id]).map {
                ($0[0], RatingStore.decodeAttributes($0[1])["categories"]!.components(separatedBy: "|"))
            })
        }
        var inFav: [Double] = [], outFav: [Double] = []
        for r in try s.ratings(dataset: d) {
            let cat = items[r.itemID]!.fields.categories.first!
            if favourite[r.userID]!.contains(cat) { inFav.append(r.value) } else { outFav.append(r.value) }
        }
        let meanIn = inFav.reduce(0, +) / Double(inFav.count), meanOut = outFav.reduce(0, +) / Double(outFav.count)
        #expect(meanIn > meanOut + 0.7, "favourite categories \(meanIn) vs others \(meanOut)")
        // Every rating lies on the 1–5 scale and every value is used.
        let values = Set(try s.ratings(dataset: d).map(\.value))
        #expect(values == [1, 2, 3, 4, 5])
        #expect(items.values.allSatisfy { $0.text.contains($0.fields.title) && $0.text.count > 40 })
    }

    @Test func rejectsImpossibleConfigurations() {
        var c = SyntheticWorld.Configuration()
        c.items = 5
        #expect(throws: StoreError.self) { _ = try SyntheticWorld(c) }
        c = SyntheticWorld.Configuration(); c.ratingsPerUser = 1...10_000
        #expect(throws: StoreError.self) { _ = try SyntheticWorld(c) }
    }
}
