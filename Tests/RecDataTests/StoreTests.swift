import Foundation
import GRDB
import Testing
@testable import RecData

@Suite struct StoreTests {
    @Test func scaleAwareThresholds() {
        #expect(RatingScale(min: 1, max: 5).likeThreshold == 4)
        #expect(RatingScale(min: 0.5, max: 5).likeThreshold == 4)
        #expect(RatingScale(min: 1, max: 10).likeThreshold == 8)
        #expect(RatingScale(min: 0, max: 1).likeThreshold == 1)
        #expect(RatingScale(parsing: "1:5") == RatingScale(min: 1, max: 5))
        #expect(RatingScale(parsing: "5:1") == nil)
        #expect(RatingScale(parsing: "x") == nil)
    }

    @Test func itemTextTemplateDropsEmptyOptionalParts() throws {
        let t = ItemTextTemplate.standard
        let toy = ItemFields(externalID: "1", title: "Toy Story", genres: ["Animation", "Children's", "Comedy"], year: 1995)
        #expect(t.render(toy) == "Toy Story (1995). Genres: Animation, Children's, Comedy.")
        #expect(t.render(ItemFields(externalID: "2", title: "Untitled")) == "Untitled.")
        let custom = try ItemTextTemplate("{title}[ from the {decade}][ by {attr:brand}] — [[{id}]]")
        #expect(custom.render(ItemFields(externalID: "9", title: "Boots", year: 1987, attributes: ["brand": "Cairn"])) == "Boots from the 1980s by Cairn — [9]")
        #expect(throws: ItemTextTemplate.ParseError.unknownPlaceholder("color")) { try ItemTextTemplate("{color}") }
        #expect(throws: ItemTextTemplate.ParseError.self) { try ItemTextTemplate("[{title}") }
        #expect(throws: ItemTextTemplate.ParseError.self) { try ItemTextTemplate("{title") }
    }

    @Test func statsDescribeTheData() throws {
        let (s, _) = try makeTemporaryStore()
        let report = try importSynthetic(s)
        try s.createSplit(dataset: "synth", splitName: "llo", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 1)
        let st = try s.stats(dataset: "synth", split: "llo")
        #expect(st.users == 40 && st.items == 80 && st.ratings == report.ratings)
        #expect(st.histogram.map(\.count).reduce(0, +) == st.ratings)
        #expect(abs(st.density - Double(st.ratings) / 3200) < 1e-12)
        #expect(st.split?.test == 40 && st.split?.valid == 40)
        let all = try s.stats(dataset: "synth")
        #expect(st.positivesPerUser.mean < all.positivesPerUser.mean)  // training part only
        let text = st.description
        #expect(text.contains("rating histogram") && text.contains("█"))
    }

    @Test func exportWritesQuotedCSV() throws {
        let (s, dir) = try makeTemporaryStore()
        try importSynthetic(s)
        try s.createSplit(dataset: "synth", splitName: "llo", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 1)
        let out = dir.appendingPathComponent("r.csv").path
        #expect(FileManager.default.createFile(atPath: out, contents: nil))
        let h = FileHandle(forWritingAtPath: out)!
        let n = try CSVExport.export(s, dataset: "synth", table: .ratings, split: "llo", to: h)
        try h.close()
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "user_id,item_id,rating,timestamp,part")
        #expect(lines.count == n + 1)
        #expect(lines.filter { $0.hasSuffix(",test") }.count == 40)
        #expect(CSVExport.field("a,\"b\"") == "\"a,\"\"b\"\"\"")
    }

    @Test func reimportIsRefusedUnlessReplaceAndReplaceIsAtomic() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s, seed: 1)
        #expect(throws: StoreError.datasetExists("synth")) { try importSynthetic(s, seed: 2) }
        var c = SyntheticWorld.Configuration(); c.seed = 3; c.users = 10; c.items = 20; c.ratingsPerUser = 5...10
        var o = ImportOptions(datasetName: "synth"); o.replace = true; o.showProgress = false
        o.scale = RatingScale(min: 1, max: 3)  // synthetic ratings reach 5: the replacement fails
        #expect(throws: ImportIssue.self) { try s.importDataset(try SyntheticWorld(c), options: o) }
        #expect(try s.stats(dataset: "synth").users == 40)
        o.scale = nil
        try s.importDataset(try SyntheticWorld(c), options: o)
        #expect(try s.stats(dataset: "synth").users == 10)
    }

    @Test func deletingADatasetCascades() throws {
        let (s, _) = try makeTemporaryStore()
        try importSynthetic(s)
        try s.createSplit(dataset: "synth", splitName: "llo", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 1)
        try s.deleteDataset(named: "synth")
        let left = try s.pool.read { db in
            try ["user", "item", "rating", "split", "split_assignment"].map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)")! }
        }
        #expect(left == [0, 0, 0, 0, 0])
        #expect(throws: StoreError.self) { _ = try s.dataset(named: "synth") }
    }
}
