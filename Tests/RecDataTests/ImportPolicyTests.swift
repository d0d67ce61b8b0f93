import Foundation
import Testing
import RecKit
@testable import RecData

/// The classes of bad input, each rendered for the formats where it can occur.
enum BadInput: String, CaseIterable, CustomStringConvertible, Sendable {
    case wrongColumnCount, nonNumeric, outOfScale, missingID, badEncoding, brokenJSON, brokenCSV
    var description: String { rawValue }

    struct Case {
        var line: FixtureLine
        var kind: ImportIssueKind
        /// Lower-cased text the issue's field must contain.
        var field: String
        /// Text the issue's value must contain.
        var value: String
    }

    func `case`(for fx: Fixture) -> Case? {
        let isJSON = fx == .amazon || fx == .amazonGz
        switch self {
        case .wrongColumnCount:
            if isJSON { return nil }
            let d = fx == .ml1m ? "::" : (fx == .mlLatest || fx == .csv ? "," : "\t")
            return Case(line: .raw(Array("1\(d)40\(d)3".utf8)), kind: .wrongColumnCount, field: "(row)", value: "3 columns")
        case .nonNumeric:
            return Case(line: .row(user: "1", item: "40", rating: "abc", ts: 5), kind: .nonNumeric,
                        field: fx == .tsv ? "score" : "rating", value: "abc")
        case .outOfScale:
            return Case(line: .row(user: "1", item: "40", rating: "9", ts: 5), kind: .outOfScale,
                        field: fx == .tsv ? "score" : "rating", value: "9")
        case .missingID:
            return Case(line: .row(user: "", item: "40", rating: "3", ts: 5), kind: .missingID, field: "user", value: "")
        case .badEncoding:
            switch fx {
            case .recbole, .tsv: return Case(line: .raw([0x31, 0xFF, 0x09, 0x34, 0x30, 0x09, 0x33, 0x09, 0x35]), kind: .badEncoding, field: "user", value: "31 FF")
            case .csv: return Case(line: .raw([0x31, 0xFF, 0x2C, 0x34, 0x30, 0x2C, 0x33, 0x2C, 0x35]), kind: .badEncoding, field: "user", value: "31 FF")
            case .amazon, .amazonGz:
                var b = fx.render(.row(user: "7", item: "40", rating: "3", ts: 5))
                let k = b.firstIndex(of: UInt8(ascii: "N"))!  // inside "Nice"
                b[k + 1] = 0xC3; b[k + 2] = 0x28  // an invalid two-byte sequence
                return Case(line: .raw(b), kind: .badEncoding, field: "(line)", value: "C3 28")
            default: return nil  // MovieLens ratings are numeric; 100K/1M text is Latin-1 (see MovieLens tests)
            }
        case .brokenJSON:
            guard isJSON else { return nil }
            return Case(line: .raw(Array(#"{"rating": 5.0, "user_id": "9", "parent_asin": "#.utf8)), kind: .brokenJSON, field: "(line)", value: #"{"rating": 5.0"#)
        case .brokenCSV:
            guard fx == .csv else { return nil }
            return Case(line: .raw(Array(#"1,"40"x,3,5"#.utf8)), kind: .brokenCSV, field: "(record)", value: "1,")
        }
    }
}

@Suite("Import policies on every format")
struct ImportPolicyTests {
    @Test(arguments: Fixture.allCases)
    func validImport(_ fx: Fixture) throws {
        let dir = try TempDir(); defer { dir.remove() }
        let store = try dir.store()
        let report = try fx.importRows(validRows, into: store, dir: dir, name: "d")
        #expect(report.users == 2 && report.items == 3 && report.ratings == 4)
        #expect(report.skipped.isEmpty)
        let r = try ratingsByPair(store, "d")
        #expect(r["1/10"]?.value == 4 && r["1/10"]?.timestamp == 881_250_949)
        #expect(r["2/30"]?.value == 1 && r["2/30"]?.timestamp == 881_250_952)
        let info = try store.dataset(named: "d")
        #expect(info.scale.min == (fx == .mlLatest ? 0.5 : 1) && info.scale.max == 5 && info.scale.likeThreshold == 4)
    }

    @Test(arguments: Fixture.allCases, BadInput.allCases)
    func badRow(_ fx: Fixture, _ bad: BadInput) throws {
        guard let c = bad.case(for: fx) else { return }
        let dir = try TempDir(); defer { dir.remove() }
        let store = try dir.store()
        try fx.importRows(validRows, into: store, dir: dir, name: "base")
        let before = try counts(store)
        let lines = Array(validRows[..<2]) + [c.line] + Array(validRows[2...])
        let badLine = fx.firstLine + 2

        // fail: the error locates the row precisely and the database is untouched.
        let issue = #expect(throws: ImportIssue.self) {
            try fx.importRows(lines, into: store, dir: dir, name: "new")
        }
        if let issue {
            #expect(issue.kind == c.kind)
            #expect(issue.line == badLine)
            #expect(issue.file.hasSuffix(fx.ratingsName))
            #expect(issue.field.lowercased().contains(c.field), "field \(issue.field)")
            #expect(c.value.isEmpty ? issue.value.isEmpty : issue.value.contains(c.value), "value \(issue.value)")
            let message = issue.description
            #expect(message.contains("\(fx.ratingsName):\(badLine)") && message.contains(issue.field) && message.contains(c.kind.rawValue), "\(message)")
        }
        #expect(try counts(store) == before)

        // skip: the other rows arrive and the report counts the kind.
        let report = try fx.importRows(lines, into: store, dir: dir, name: "new", onError: .skip)
        #expect(report.skipped == [c.kind.rawValue: 1])
        #expect(report.ratings == 4)
        #expect(report.examples.count == 1)

        // A failed replace keeps the dataset it would have replaced.
        let kept = try counts(store)
        #expect(throws: ImportIssue.self) {
            try fx.importRows(lines, into: store, dir: dir, name: "new", replace: true, folder: "new2")
        }
        #expect(try counts(store) == kept)
        #expect(try ratingsByPair(store, "new").count == 4)
    }

    @Test(arguments: Fixture.allCases, DuplicatePolicy.allCases)
    func duplicates(_ fx: Fixture, _ policy: DuplicatePolicy) throws {
        let dir = try TempDir(); defer { dir.remove() }
        let store = try dir.store()
        let rows: [FixtureLine] = [
            .row(user: "1", item: "10", rating: "2", ts: 100),
            .row(user: "1", item: "10", rating: "4", ts: 300),
            .row(user: "1", item: "10", rating: "3", ts: 200),
            .row(user: "2", item: "10", rating: "5", ts: 50),
        ]
        switch policy {
        case .last, .mean:
            let report = try fx.importRows(rows, into: store, dir: dir, name: "d", duplicates: policy)
            let r = try ratingsByPair(store, "d")
            #expect(report.ratings == 2 && report.duplicatesMerged == 2)
            // last: the latest timestamp wins even though a later line is older; mean: all three.
            #expect(r["1/10"]?.value == (policy == .last ? 4 : 3))
            #expect(r["1/10"]?.timestamp == 300)
            #expect(r["2/10"]?.value == 5)
        case .error:
            let issue = #expect(throws: ImportIssue.self) {
                try fx.importRows(rows, into: store, dir: dir, name: "d", duplicates: .error)
            }
            #expect(issue?.kind == .duplicateRating)
            #expect(issue?.line == fx.firstLine + 1)
            #expect(issue?.description.contains("\(fx.ratingsName):\(fx.firstLine + 1)") == true)
            #expect(issue?.value == "user 1 item 10")
            #expect(try counts(store).datasets.isEmpty)
            let report = try fx.importRows(rows, into: store, dir: dir, name: "d", onError: .skip, duplicates: .error)
            #expect(report.skipped == ["duplicate-rating": 2])
            #expect(try ratingsByPair(store, "d")["1/10"]?.value == 2)
        }
    }

    @Test(arguments: Fixture.allCases)
    func reimportNeedsReplace(_ fx: Fixture) throws {
        let dir = try TempDir(); defer { dir.remove() }
        let store = try dir.store()
        try fx.importRows(validRows, into: store, dir: dir, name: "d")
        let before = try counts(store)
        #expect(throws: StoreError.datasetExists("d")) {
            try fx.importRows(validRows, into: store, dir: dir, name: "d")
        }
        #expect(try counts(store) == before)
        let report = try fx.importRows(Array(validRows.prefix(2)), into: store, dir: dir, name: "d", replace: true, folder: "v2")
        #expect(report.ratings == 2)
        #expect(try counts(store).datasets == ["d"] && counts(store).ratings == 2)
    }
}
