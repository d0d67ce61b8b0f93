import Foundation
import Testing
import RecKit
@testable import RecData

@Suite("CSV/TSV importer and format detection")
struct ImportDelimitedTests {
    @Test func headerMappingAndItems() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let ratings = try dir.write("r.csv", """
            when,who,what,stars
            2020-05-17T14:03:00Z,alice,b1,8
            2020-05-17 14:03:01+02:00,bob,b2,10
            2020-05-18,"alice",b3,2

            """)
        let items = try dir.write("books.csv", """
            book,name,blurb,tags,published,cost,author
            b1,"Dune, Deluxe","Spice.
            Sand worms, ""big"" ones.",sf|classic,1965,$9.99,Herbert
            b2,Emma,,romance,1815-12-23,,Austen
            b4,Unrated,,,,,Nobody

            """)
        var m = DelimitedMapping(user: "who", item: "what", rating: "stars", timestamp: "when", timestampFormat: .iso8601)
        m.items = DelimitedItemMapping(item: "book", title: "name", description: "blurb", genres: "tags", year: "published", price: "cost")
        let store = try dir.store()
        let report = try store.importDataset(try DatasetFormat.importer(format: .csv, path: ratings, metaPath: items, mapping: m),
                                             options: importOptions("c"))
        #expect(report.users == 2 && report.items == 4 && report.ratings == 3)
        let info = try store.dataset(named: "c")
        // No declared scale: the observed range, with the scale-aware threshold (2 + 0.75 * 8 = 8).
        #expect(info.scale.min == 2 && info.scale.max == 10 && info.scale.likeThreshold == 8)
        let r = try ratingsByPair(store, "c")
        #expect(r["alice/b1"]?.timestamp == 1_589_724_180)
        let bobTime: Int64 = 1_589_724_181 - 7200  // 14:03:01+02:00 is 12:03:01Z
        #expect(r["bob/b2"]?.timestamp == bobTime)
        #expect(r["alice/b3"]?.timestamp == 1_589_760_000)
        let byID = Dictionary(uniqueKeysWithValues: try store.items(dataset: info).map { ($0.fields.externalID, $0.fields) })
        let dune = try #require(byID["b1"])
        #expect(dune.title == "Dune, Deluxe" && dune.description == "Spice.\nSand worms, \"big\" ones.")
        #expect(dune.genres == ["sf", "classic"] && dune.year == 1965 && dune.price == 9.99 && dune.attributes == ["author": "Herbert"])
        #expect(byID["b2"]?.year == 1815 && byID["b2"]?.price == nil)
    }

    @Test func noHeaderColumnNumbersTSVAndMillis() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try dir.write("x.tsv", "u1\ti1\t1588687728923\t3.5\nu2\ti1\t1588687729000\t\"4\"\n")
        let m = DelimitedMapping(user: "1", item: "2", rating: "4", timestamp: "3", hasHeader: false, timestampFormat: .unixMillis)
        let store = try dir.store()
        #expect(DatasetFormat.detect(path: path) == .csv)
        // TSV is unquoted by default, so "4" with its quotes is not a number.
        let report = try store.importDataset(try DelimitedImporter(path: path, mapping: m), options: importOptions("t", onError: .skip))
        #expect(report.ratings == 1 && report.skipped == ["non-numeric": 1])
        #expect(report.examples.first?.contains("x.tsv:2: field 'column 4'") == true)
        #expect(try ratingsByPair(store, "t")["u1/i1"]?.timestamp == 1_588_687_728)

        var quoted = m
        quoted.quoted = true
        let all = try store.importDataset(try DelimitedImporter(path: path, mapping: quoted), options: importOptions("q"))
        #expect(all.ratings == 2)

        var outOfRange = m
        outOfRange.rating = "7"
        let e = #expect(throws: ImportIssue.self) {
            try store.importDataset(try DelimitedImporter(path: path, mapping: outOfRange), options: importOptions("z"))
        }
        #expect(e?.kind == .badHeader && e?.description.contains("column number 1–4") == true)
    }

    @Test func unknownColumnListsHeader() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try dir.write("r.csv", "user_id,item_id,rating\n1,2,3\n")
        let store = try dir.store()
        let m = DelimitedMapping(user: "user_id", item: "item_id", rating: "rating", timestamp: "timestamp")
        let e = #expect(throws: ImportIssue.self) {
            try store.importDataset(try DelimitedImporter(path: path, mapping: m), options: importOptions("c", onError: .skip))
        }
        #expect(e?.kind == .badHeader && e?.field == "timestamp" && e?.value == "timestamp")
        #expect(e?.description.contains("the header has: user_id, item_id, rating") == true)
        #expect(try counts(store).datasets.isEmpty)
    }

    @Test func implicitFeedbackAndInferredMapping() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try dir.write("clicks.csv", "\u{FEFF}userId,movieId\n1,2\n1,3\n2,3\n")
        let m = try DelimitedMapping.inferred(fromHeaderOf: path)
        #expect(m.user == "userId" && m.item == "movieId" && m.rating == nil && m.timestamp == nil)
        let store = try dir.store()
        let report = try store.importDataset(try DatasetFormat.importer(format: .csv, path: path), options: importOptions("i"))
        #expect(report.ratings == 3)
        let info = try store.dataset(named: "i")
        #expect(info.scale.min == 0 && info.scale.max == 1 && info.scale.likeThreshold == 1)

        try dir.write("odd.csv", "a,b,c\n1,2,3\n")
        let e = #expect(throws: ImportIssue.self) { try DelimitedMapping.inferred(fromHeaderOf: dir.file("odd.csv")) }
        #expect(e?.kind == .badHeader && e?.description.contains("columns: a, b, c") == true)
    }

    @Test func brokenCSVAndGzip() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let text = "u,i,r\n1,2,3\n1,\"3\"x,4\n2,2,5\n2,\"never closed,1\n3,3,3\n"
        let path = try dir.write("r.csv.gz", bytes: Gzip.stored(Array(text.utf8)))
        let m = DelimitedMapping(user: "u", item: "i", rating: "r")
        let store = try dir.store()
        let e = #expect(throws: ImportIssue.self) {
            try store.importDataset(try DelimitedImporter(path: path, mapping: m), options: importOptions("b"))
        }
        #expect(e?.kind == .brokenCSV && e?.line == 3 && e?.description.contains("r.csv.gz:3") == true)
        // The unterminated quote swallows the rest of the file and is reported where it opened.
        let report = try store.importDataset(try DelimitedImporter(path: path, mapping: m), options: importOptions("b", onError: .skip))
        #expect(report.skipped == ["broken-csv": 2] && report.ratings == 2)
        #expect(report.examples.last?.contains("r.csv.gz:5") == true)

        let clean = "u,i,r\n1,2,3\n2,2,5\n3,3,3\n"
        let truncated = try dir.write("t.csv.gz", bytes: Array(Gzip.stored(Array(clean.utf8)).dropLast(12)))
        let t = #expect(throws: ImportIssue.self) {
            try store.importDataset(try DelimitedImporter(path: truncated, mapping: m), options: importOptions("t"))
        }
        #expect(t?.kind == .unreadableFile && t?.file == truncated)
    }

    @Test func iso8601Parser() {
        func parse(_ s: String) -> Int64? {
            Array(s.utf8).withUnsafeBufferPointer { ImportSupport.iso8601($0, 0..<$0.count) }
        }
        #expect(parse("1970-01-01") == 0)
        #expect(parse("2000-02-29T00:00:00Z") == 951_782_400)
        #expect(parse("2001-02-29") == nil)
        #expect(parse("2020-13-01") == nil)
        #expect(parse("2020-01-01T25:00") == nil)
        let offsetTime: Int64 = 1_577_836_800 + 36_000 - 19_800  // 10:00+05:30 is 04:30Z
        #expect(parse("2020-01-01T10:00:00.123456+05:30") == offsetTime)
        #expect(parse("1969-12-31T23:59:59Z") == -1)
        #expect(parse("2020-01-01x") == nil)
        // Agrees with Foundation on random instants.
        var g = SeededGenerator(seed: 7)
        let f = ISO8601DateFormatter()
        for _ in 0..<300 {
            let t = Int64(g.nextIndex(4_000_000_000)) - 1_000_000_000
            let s = f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
            #expect(parse(s) == t, "\(s)")
        }
    }

    @Test func detection() throws {
        let dir = try TempDir(); defer { dir.remove() }
        try dir.write("rb/ml.inter", "user_id:token\titem_id:token\n")
        try dir.write("a/Books.jsonl", "")
        try dir.write("a/meta_Books.jsonl", "")
        try dir.write("x/ratings.csv", "")
        try dir.write("y/notes.txt", "")
        #expect(DatasetFormat.detect(path: dir.file("rb")) == .recbole)
        #expect(DatasetFormat.detect(path: dir.file("rb/ml.inter")) == .recbole)
        #expect(DatasetFormat.detect(path: dir.file("a")) == .amazon)
        #expect(DatasetFormat.detect(path: dir.file("a/Books.jsonl")) == .amazon)
        #expect(DatasetFormat.detect(path: dir.file("x/ratings.csv")) == .csv)  // no movies.csv beside it
        #expect(DatasetFormat.detect(path: dir.file("x")) == nil)
        #expect(DatasetFormat.detect(path: dir.file("y")) == nil)
        #expect(DatasetFormat.detect(path: dir.file("missing")) == nil)
        #expect(DatasetFormat(name: "ml-25m") == .mlLatest && DatasetFormat(name: "AMAZON-2023") == .amazon && DatasetFormat(name: "x") == nil)
        #expect(DatasetFormat.allCases.map(\.rawValue) == ["recbole", "ml-100k", "ml-1m", "ml-latest", "amazon-2023", "csv"])
        let a = try DatasetFormat.importer(format: .amazon, path: dir.file("a"), metaPath: nil, mapping: nil)
        #expect(a.format == "amazon-2023" && a.inputFiles == [dir.file("a/meta_Books.jsonl"), dir.file("a/Books.jsonl")])
        #expect(throws: ImportIssue.self) { try DatasetFormat.importer(format: .amazon, path: dir.file("a/Books.jsonl"), metaPath: dir.file("nope.jsonl"), mapping: nil) }
    }
}
