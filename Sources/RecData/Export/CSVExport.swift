import Foundation
import GRDB

/// Writes a dataset's tables as RFC 4180 CSV so they can be analysed with any tool.
public enum CSVExport {
    public enum Table: String, CaseIterable, Sendable { case ratings, items, users }

    /// Quotes a field when it contains a delimiter, quote or line break.
    public static func field(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    /// Streams a table to `output`. Ratings carry the split part when `split` is given.
    /// Returns the number of data rows written.
    @discardableResult
    public static func export(_ store: RatingStore, dataset name: String, table: Table, split: String? = nil,
                              to output: FileHandle) throws -> Int {
        var buffer = ""
        var rows = 0
        func emit(_ line: String) {
            buffer += line
            buffer += "\n"
            if buffer.utf8.count > 1 << 16 { output.write(Data(buffer.utf8)); buffer = "" }
        }
        try store.pool.read { db in
            let d = try RatingStore.dataset(named: name, db)
            switch table {
            case .ratings:
                var sql = "SELECT u.external_id, i.external_id, r.value, r.timestamp"
                var join = ""
                if let split {
                    let sid = try RatingStore.splitID(dataset: d, name: split, db)
                    sql += ", a.part"
                    join = " JOIN split_assignment a ON a.split_id = \(sid) AND a.user_id = r.user_id AND a.item_id = r.item_id"
                }
                emit("user_id,item_id,rating,timestamp" + (split == nil ? "" : ",part"))
                let cursor = try Row.fetchCursor(db, sql: sql + " FROM rating r JOIN user u ON u.id = r.user_id JOIN item i ON i.id = r.item_id" + join + " WHERE r.dataset_id = ? ORDER BY r.user_id, r.timestamp, r.item_id", arguments: [d.id])
                while let row = try cursor.next() {
                    var line = field(row[0]) + "," + field(row[1]) + "," + RatingScale.fmt(row[2]) + "," + String(row[3] as Int64)
                    if split != nil { line += "," + (SplitPart(rawValue: row[4])?.description ?? "?") }
                    emit(line); rows += 1
                }
            case .items:
                emit("item_id,title,year,genres,categories,price,description,text")
                let cursor = try Row.fetchCursor(db, sql: "SELECT external_id, title, year, genres, categories, price, description, text FROM item WHERE dataset_id = ? ORDER BY id", arguments: [d.id])
                while let row = try cursor.next() {
                    let year: Int? = row[2], price: Double? = row[5]
                    let cols: [String] = [row[0], row[1], year.map(String.init) ?? "",
                                          RatingStore.splitList(row[3]).joined(separator: "|"),
                                          RatingStore.splitList(row[4]).joined(separator: "|"),
                                          price.map { String($0) } ?? "", row[6], row[7]]
                    emit(cols.map(field).joined(separator: ",")); rows += 1
                }
            case .users:
                emit("user_id,attributes,preference_statement")
                let cursor = try Row.fetchCursor(db, sql: "SELECT external_id, attributes, coalesce(preference_statement, '') FROM user WHERE dataset_id = ? ORDER BY id", arguments: [d.id])
                while let row = try cursor.next() {
                    emit([row[0], row[1], row[2]].map { field($0 as String) }.joined(separator: ",")); rows += 1
                }
            }
        }
        output.write(Data(buffer.utf8))
        return rows
    }
}
