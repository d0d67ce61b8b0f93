import Foundation
import Testing
@testable import RecData
import RecKit

/// The import's external sort and the duplicate policies applied over it: results must not depend
/// on how many runs spilled to disk, and must match a direct model of each policy.
@Suite struct RatingSortTests {
    @Test(arguments: [1, 2, 7, 64, 5000])
    func sorterEmitsEveryRowInKeyOrder(runLength: Int) throws {
        var g = SeededGenerator(seed: UInt64(runLength))
        let sorter = RatingRunSorter(runLength: runLength)
        var input: [StagedRating] = []
        for k in 0..<1000 {
            let r = StagedRating(user: Int64(g.nextIndex(30)), item: Int64(g.nextIndex(20)), value: Double(g.nextIndex(5) + 1),
                                 timestamp: Int64(g.nextIndex(100)), sequence: Int64(k), file: 0, line: Int32(k + 1))
            input.append(r)
            try sorter.append(r)
        }
        var out: [StagedRating] = []
        try sorter.forEachSorted { out.append($0) }
        #expect(out.map(\.sequence) == input.sorted(by: StagedRating.precedes).map(\.sequence))
    }

    @Test func emptySorterEmitsNothing() throws {
        var n = 0
        try RatingRunSorter(runLength: 3).forEachSorted { _ in n += 1 }
        #expect(n == 0)
    }

    /// A CSV with many repeated pairs, out of order, spread over several runs.
    func repeatedPairsCSV(seed: UInt64) -> (text: String, rows: [(user: Int, item: Int, value: Double, ts: Int)]) {
        var g = SeededGenerator(seed: seed)
        var rows: [(user: Int, item: Int, value: Double, ts: Int)] = []
        var text = "user,item,rating,ts\n"
        for _ in 0..<400 {
            let r = (user: g.nextIndex(12), item: g.nextIndex(9), value: Double(g.nextIndex(9) + 2) / 2, ts: g.nextIndex(50))
            rows.append(r)
            text += "u\(r.user),i\(r.item),\(r.value),\(r.ts)\n"
        }
        return (text, rows)
    }

    func importCSV(_ text: String, dir: TempDir, policy: DuplicatePolicy, onError: OnErrorPolicy = .fail,
                   runLength: Int) throws -> (RatingStore, ImportReport) {
        let store = try RatingStore(path: dir.file("s\(runLength)-\(policy)-\(onError).sqlite"))
        let path = try dir.write("ratings.csv", text)
        var mapping = DelimitedMapping(user: "user", item: "item", rating: "rating", timestamp: "ts")
        mapping.hasHeader = true
        var o = ImportOptions(datasetName: "d")
        o.duplicates = policy
        o.onError = onError
        o.showProgress = false
        o.sortRunLength = runLength
        let report = try store.importDataset(try DatasetFormat.importer(format: .csv, path: path, metaPath: nil, mapping: mapping), options: o)
        return (store, report)
    }

    @Test(arguments: [DuplicatePolicy.last, .mean])
    func mergePoliciesMatchTheirDefinitionWhateverTheRuns(policy: DuplicatePolicy) throws {
        let dir = try TempDir(); defer { dir.remove() }
        let (text, rows) = repeatedPairsCSV(seed: 3)
        // The definition, row by row in file order.
        var model: [String: (value: Double, ts: Int64, n: Int)] = [:]
        for r in rows {
            let key = "u\(r.user)/i\(r.item)"
            guard let m = model[key] else { model[key] = (r.value, Int64(r.ts), 1); continue }
            switch policy {
            case .last: model[key] = r.ts >= m.ts ? (r.value, Int64(r.ts), m.n + 1) : (m.value, m.ts, m.n + 1)
            default: model[key] = ((m.value * Double(m.n) + r.value) / Double(m.n + 1), max(m.ts, Int64(r.ts)), m.n + 1)
            }
        }
        for runLength in [3, 50, 1 << 20] {
            let (store, report) = try importCSV(text, dir: dir, policy: policy, runLength: runLength)
            let stored = try ratingsByPair(store, "d")
            #expect(stored.count == model.count && report.ratings == model.count)
            #expect(report.duplicatesMerged == rows.count - model.count)
            for (key, m) in model {
                #expect(stored[key]?.value == m.value && stored[key]?.timestamp == m.ts, "\(key) with runs of \(runLength)")
            }
        }
    }

    @Test func errorPolicyNamesTheEarliestRepeatEvenAcrossRuns() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let (text, rows) = repeatedPairsCSV(seed: 4)
        var seen = Set<String>()
        var firstRepeatLine = 0
        var repeats = 0
        for (k, r) in rows.enumerated() where !seen.insert("\(r.user)/\(r.item)").inserted {
            if firstRepeatLine == 0 { firstRepeatLine = k + 2 }  // the header is line 1
            repeats += 1
        }
        for runLength in [3, 1 << 20] {
            let issue = #expect(throws: ImportIssue.self) {
                try importCSV(text, dir: dir, policy: .error, runLength: runLength)
            }
            #expect(issue?.line == firstRepeatLine)
            let (store, report) = try importCSV(text, dir: dir, policy: .error, onError: .skip, runLength: runLength)
            #expect(report.skipped == ["duplicate-rating": repeats])
            #expect(report.ratings == seen.count)
            // Under skip the first rating of each pair is kept.
            let stored = try ratingsByPair(store, "d")
            var first: [String: Double] = [:]
            for r in rows where first["u\(r.user)/i\(r.item)"] == nil { first["u\(r.user)/i\(r.item)"] = r.value }
            #expect(stored.mapValues(\.value) == first)
        }
    }
}
