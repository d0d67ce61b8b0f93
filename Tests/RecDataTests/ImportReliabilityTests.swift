import Foundation
import Testing
import RecKit
@testable import RecData

/// Issue 14, inputs: no silent empty datasets, no unchecked column types, no terminal control
/// bytes from the data in messages.
@Suite struct ImportReliabilityTests {
    static let mapping = DelimitedMapping(user: "user", item: "item", rating: "rating", timestamp: nil)

    @Test(arguments: [("empty.csv", "", OnErrorPolicy.fail), ("header.csv", "user,item,rating\n", .fail),
                      ("skipped.csv", "user,item,rating\n1,2,x\n3,4,y\n", .skip)])
    func anImportWithNoRatingsFailsAndStoresNothing(name: String, text: String, policy: OnErrorPolicy) throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try dir.write(name, text)
        let store = try dir.store()
        let before = try counts(store)
        let e = #expect(throws: ImportIssue.self) {
            try store.importDataset(try DelimitedImporter(path: path, mapping: Self.mapping), options: importOptions("d", onError: policy))
        }
        #expect(try counts(store) == before)
        if name == "empty.csv" {
            // The named columns cannot be checked against a header that is not there: say so.
            #expect(e?.kind == .badHeader && e?.description.contains("the file is empty") == true, "\(String(describing: e))")
        } else {
            #expect(e?.kind == .noRatings, "\(String(describing: e))")
            #expect(e?.description.contains(name == "skipped.csv" ? "all 2 were skipped (non-numeric 2)" : "an empty or header-only file") == true)
        }
    }

    @Test func allowEmptyStoresTheEmptyDataset() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try dir.write("header.csv", "user,item,rating\n")
        let store = try dir.store()
        var options = importOptions("d")
        options.allowEmpty = true
        let report = try store.importDataset(try DelimitedImporter(path: path, mapping: Self.mapping), options: options)
        #expect(report.ratings == 0)
        #expect(try counts(store).datasets == ["d"])
    }

    @Test func controlCharactersInMessagesAreEscaped() {
        let issue = ImportIssue(.nonNumeric, file: "r\u{1B}.csv", line: 2, field: "rat\u{07}ing", value: "4\u{1B}[31m\u{9B}", expected: "a number")
        #expect(issue.description == "r\\x1b.csv:2: field 'rat\\x07ing': expected a number, found '4\\x1b[31m\\x9b' [non-numeric]")
        #expect(ImportIssue.escaped("plain ü text") == "plain ü text")
    }

    @Test(arguments: [("user_id:float\titem_id:token\trating:float", "user_id:token"),
                      ("user_id:token\titem_id:token_seq\trating:float", "item_id:token"),
                      ("user_id:token\titem_id:token\trating:token", "rating:float"),
                      ("user_id:token\titem_id:token\trating:float\ttimestamp:token_seq", "timestamp:float")])
    func recBoleFieldTypesMustMatchTheirRoles(header: String, expected: String) throws {
        let dir = try TempDir(); defer { dir.remove() }
        let columns = header.split(separator: "\t").count
        try dir.write("d/d.inter", header + "\n" + (["1", "2", "4", "5"].prefix(columns).joined(separator: "\t")) + "\n")
        let store = try dir.store()
        let e = #expect(throws: ImportIssue.self) {
            try store.importDataset(try RecBoleImporter(path: dir.file("d")), options: importOptions("r"))
        }
        #expect(e?.kind == .badHeader && e?.description.contains("expected \(expected)") == true, "\(String(describing: e))")
        // The same file with the right types imports.
        let fixed = header.replacingOccurrences(of: "user_id:float", with: "user_id:token").replacingOccurrences(of: "item_id:token_seq", with: "item_id:token")
            .replacingOccurrences(of: "rating:token", with: "rating:float").replacingOccurrences(of: "timestamp:token_seq", with: "timestamp:float")
        try dir.write("d/d.inter", fixed + "\n" + (["1", "2", "4", "5"].prefix(columns).joined(separator: "\t")) + "\n")
        #expect(try store.importDataset(try RecBoleImporter(path: dir.file("d")), options: importOptions("r")).ratings == 1)
    }
}
