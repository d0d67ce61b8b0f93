import Foundation
import Testing
import RecKit
@testable import RecData

@Suite("Amazon Reviews 2023 importer")
struct ImportAmazonTests {
    static let reviews = """
        {"rating": 5.0, "title": "Great", "text": "Loved it.", "images": [], "asin": "B01", "parent_asin": "P01", "user_id": "AG1", "timestamp": 1588687728923, "helpful_vote": 2, "verified_purchase": true}
        {"rating": 3.0, "title": "Ok", "text": "Fine", "images": [], "asin": "B02", "parent_asin": "P02", "user_id": "AG1", "timestamp": 1588687729000, "helpful_vote": 0, "verified_purchase": false}
        {"rating": 4, "title": "No parent", "text": "", "asin": "B03", "user_id": "AG2", "timestamp": 1600000000500}
        {"rating": 1.0, "title": "Hm", "text": "Unicode ✓ “quotes”", "asin": "B01", "parent_asin": "P01", "user_id": "AG2", "timestamp": 1600000001000}

        """

    static let meta = """
        {"main_category": "All Beauty", "title": "Shampoo ✓", "average_rating": 4.1, "rating_number": 10, "features": ["Gentle", "For all hair types."], "description": ["Made in France"], "price": 9.99, "images": [], "videos": [], "store": "Acme", "categories": ["Beauty", "Hair Care"], "details": {"Brand": "Acme", "Item Weight": "1 pound", "Best Sellers Rank": {"Beauty": 1200, "Shampoo": 3}, "Colors": ["red", "blue"], "Count": 2}, "parent_asin": "P01", "bought_together": null}
        {"main_category": "All Beauty", "title": "Brush", "features": [], "description": [], "price": "\\u2014", "store": null, "categories": [], "details": {}, "parent_asin": "P02"}
        {"main_category": "All Beauty", "title": "No price", "features": [], "description": [], "price": null, "categories": ["All Beauty", "Tools"], "details": {}, "parent_asin": "P09"}

        """

    @Test func reviewsAndMetaFoundBeside() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let reviews = try dir.write("All_Beauty.jsonl", Self.reviews)
        try dir.write("meta_All_Beauty.jsonl", Self.meta)
        #expect(DatasetFormat.detect(path: reviews) == .amazon)
        #expect(DatasetFormat.detect(path: dir.path) == .amazon)
        let importer = try DatasetFormat.importer(format: .amazon, path: reviews, metaPath: nil, mapping: nil)
        #expect(importer.inputFiles == [dir.file("meta_All_Beauty.jsonl"), reviews])
        let store = try dir.store()
        let report = try store.importDataset(importer, options: importOptions("a"))
        #expect(report.users == 2 && report.items == 4 && report.ratings == 4)
        let info = try store.dataset(named: "a")
        #expect(info.format == "amazon-2023" && info.scale == RatingScale(min: 1, max: 5))
        let items = Dictionary(uniqueKeysWithValues: try store.items(dataset: info).map { ($0.fields.externalID, $0) })
        let p1 = try #require(items["P01"]).fields
        #expect(p1.title == "Shampoo ✓")
        #expect(p1.description == "Gentle. For all hair types. Made in France")
        #expect(p1.categories == ["All Beauty", "Beauty", "Hair Care"])
        #expect(p1.price == 9.99)
        #expect(p1.attributes["store"] == "Acme" && p1.attributes["Brand"] == "Acme" && p1.attributes["Item Weight"] == "1 pound")
        #expect(p1.attributes["Best Sellers Rank"] == "Beauty: 1200; Shampoo: 3")
        #expect(p1.attributes["Colors"] == "red, blue" && p1.attributes["Count"] == "2")
        #expect(items["P01"]?.text.hasPrefix("Shampoo ✓. Categories: All Beauty, Beauty, Hair Care. Gentle.") == true)
        #expect(items["P02"]?.fields.price == nil && items["P02"]?.fields.attributes["store"] == nil)
        #expect(items["P09"]?.fields.categories == ["All Beauty", "Tools"])
        #expect(items["B03"]?.fields.title == "")  // parent_asin missing: asin, created bare
        let r = try ratingsByPair(store, "a")
        #expect(r["AG1/P01"]?.value == 5 && r["AG1/P01"]?.timestamp == 1_588_687_728)
        #expect(r["AG2/B03"]?.value == 4 && r["AG2/B03"]?.timestamp == 1_600_000_000)
    }

    @Test func gzipAndExplicitMeta() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let reviews = try dir.write("r/Books.jsonl.gz", bytes: Gzip.stored(Array(Self.reviews.utf8)))
        let meta = try dir.write("m/items.json.gz", bytes: Gzip.stored(Array(Self.meta.utf8)))
        let store = try dir.store()
        let importer = try AmazonReviewsImporter(path: reviews, metaPath: meta)
        let report = try store.importDataset(importer, options: importOptions("a"))
        #expect(report.items == 4 && report.ratings == 4)
        // Concatenated gzip members read as one stream.
        let twice = Gzip.stored(Array(Self.reviews.utf8)) + Gzip.stored(Array(#"{"rating": 2, "user_id": "AG3", "parent_asin": "P02", "timestamp": 1}"#.utf8))
        try dir.write("r/Books.jsonl.gz", bytes: twice)
        let again = try store.importDataset(try AmazonReviewsImporter(path: reviews), options: importOptions("b"))
        #expect(again.ratings == 5)
    }

    @Test func truncatedGzip() throws {
        let dir = try TempDir(); defer { dir.remove() }
        var text = ""
        for k in 0..<200 { text += #"{"rating": 4, "user_id": "U\#(k)", "parent_asin": "P\#(k % 7)", "timestamp": \#(k * 1000)}"# + "\n" }
        let full = Gzip.stored(Array(text.utf8))
        let path = try dir.write("Toys.jsonl.gz", bytes: Array(full.prefix(full.count / 2)))
        let store = try dir.store()
        try Fixture.amazon.importRows(validRows, into: store, dir: dir, name: "base")
        let before = try counts(store)
        let issue = #expect(throws: ImportIssue.self) {
            try store.importDataset(try AmazonReviewsImporter(path: path), options: importOptions("t"))
        }
        #expect(issue?.kind == .unreadableFile)
        #expect(issue?.description.contains("Toys.jsonl.gz") == true)
        #expect(issue?.description.contains("truncated") == true)
        #expect(try counts(store) == before)
        // A broken stream is not a malformed row: skip fails too (it used to import the half
        // before the cut as if it were the file), and the store stays as it was.
        let skipped = #expect(throws: ImportIssue.self) {
            try store.importDataset(try AmazonReviewsImporter(path: path), options: importOptions("t", onError: .skip))
        }
        #expect(skipped?.kind == .unreadableFile && skipped?.description.contains("truncated") == true)
        #expect(try counts(store) == before)
    }

    @Test func badMetaAndReviewLines() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let reviews = try dir.write("Cat.jsonl", """
            {"rating": 5.0, "user_id": "U1", "parent_asin": "P1", "timestamp": 1000}
            {"rating": {"x": 1}, "user_id": "U1", "parent_asin": "P2", "timestamp": 1000}
            {"rating": 4.0, "user_id": "U2", "parent_asin": "", "asin": "", "timestamp": 1000}
            {"rating": 4.0, "user_id": "U2", "parent_asin": "P1", "timestamp": "yesterday"}
            [1, 2, 3]
            {"rating": 0.0, "user_id": "U3", "parent_asin": "P1", "timestamp": 1000}
            """)
        try dir.write("meta_Cat.jsonl", """
            {"title": "Fine", "parent_asin": "P1"}
            {"title": "No id"}
            {"title": "Broken
            """)
        let store = try dir.store()
        let issue = #expect(throws: ImportIssue.self) {
            try store.importDataset(try AmazonReviewsImporter(path: reviews), options: importOptions("a"))
        }
        #expect(issue?.kind == .missingID && issue?.file.hasSuffix("meta_Cat.jsonl") == true && issue?.line == 2 && issue?.field == "parent_asin")
        let report = try store.importDataset(try AmazonReviewsImporter(path: reviews), options: importOptions("a", onError: .skip))
        #expect(report.skipped == ["missing-id": 2, "broken-json": 2, "non-numeric": 2, "out-of-scale": 1])
        #expect(report.ratings == 1)
        #expect(report.examples.contains { $0.contains("Cat.jsonl:2: field 'rating'") && $0.contains("(an object, array or boolean)") })
        #expect(report.examples.contains { $0.contains("meta_Cat.jsonl:3") && $0.contains(#"{"title": "Broken"#) })
    }

    @Test func amazon2018FieldNames() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try dir.write("old.json.gz", bytes: Gzip.stored(Array("""
            {"overall": 4.0, "verified": true, "reviewerID": "A2", "asin": "0001", "unixReviewTime": 1400000000}

            """.utf8)))
        let store = try dir.store()
        try store.importDataset(try AmazonReviewsImporter(path: path), options: importOptions("o"))
        #expect(try ratingsByPair(store, "o")["A2/0001"]?.timestamp == 1_400_000_000)
    }

    @Test func descriptionJoining() {
        #expect(AmazonReviewsImporter.sentences(["Soft cotton", " Machine wash!", "", "Imported."]) == "Soft cotton. Machine wash! Imported.")
        #expect(AmazonReviewsImporter.price("$1,299.00") == 1299)
        #expect(AmazonReviewsImporter.price("—") == nil)
    }
}
